import Testing
@testable import KNNCore

@Suite struct JSONParserTests {
    func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test func parsesEveryKindOfValueAndKeepsKeyOrder() throws {
        let value = try parse(#"{"z": 1, "a": [true, false, null], "m": {"s": "x\"\u00e9\n"}, "f": -2.5e1}"#)
        guard case .object(let members) = value else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["z", "a", "m", "f"])
        #expect(members[0].value == .number(1, text: "1"))
        #expect(members[1].value == .array([.bool(true), .bool(false), .null]))
        #expect(members[2].value == .object([("s", .string("x\"é\n"))]))
        #expect(members[3].value == .number(-25, text: "-2.5e1"))
    }

    @Test func keepsIntegerTextApartFromFractions() throws {
        guard case .number(_, let text) = try parse("10.0") else { Issue.record("not a number"); return }
        #expect(text == "10.0")
    }

    @Test func decodesSurrogatePairs() throws {
        #expect(try parse(#""\ud83d\ude00""#) == .string("😀"))
    }

    @Test(arguments: [
        ("{\"a\": 1,}", 1, 9),
        ("{\n  \"a\": 1\n  \"b\": 2\n}", 3, 3),
        ("[1, 2", 1, 6),
        ("{\"a\": 01}", 1, 9),
        ("{\"a\": 1, \"a\": 2}", 1, 13),
        ("\"tab\there\"", 1, 5),
        ("{} x", 1, 4),
        ("nul", 1, 4),
    ])
    func reportsLineAndColumnOfSyntaxErrors(text: String, line: Int, column: Int) {
        do {
            _ = try parse(text)
            Issue.record("no error for \(text)")
        } catch let error as JSONParser.SyntaxError {
            #expect(error.line == line && error.column == column, "\(text): \(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func writerRoundTrips() throws {
        let value = try parse(#"{"b": [1, {"c": "q\"uote"}], "a": {}, "e": [], "t": "\u0001"}"#)
        #expect(try parse(JSONWriter.render(value)) == value)
    }
}
