import Foundation

/// The recall/throughput picture of `knnbatch eval`, as SVG text: recall@k along x, queries per
/// second along y on a log scale, one line per series through its points in sweep order, the
/// Pareto front's points filled and the others hollow, each point labelled with its setting.
/// Plain SVG 1.1 (no script, no external font), so a browser, an image viewer or a README shows it.
struct RecallPlot {
    struct Point {
        var recall: Double
        var queriesPerSecond: Double
        var label: String
        var onFront: Bool
    }

    struct Series {
        var name: String
        var points: [Point]
    }

    var title: String
    var k: Int
    var series: [Series]

    static let width = 760.0, height = 500.0
    static let margin = (left: 90.0, right: 30.0, top: 50.0, bottom: 70.0)
    static let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]

    var svg: String {
        let all = series.flatMap(\.points)
        let m = Self.margin, plotWidth = Self.width - m.left - m.right, plotHeight = Self.height - m.top - m.bottom
        // x: recall from a round tenth (or twentieth) below the lowest to 1.
        let lowest = all.map(\.recall).min() ?? 0
        let step = lowest >= 0.8 ? 0.02 : lowest >= 0.5 ? 0.05 : 0.1
        let xMin = max(0, min(1 - step, (lowest / step).rounded(.down) * step))
        // y: whole decades around the throughputs.
        let rates = all.map(\.queriesPerSecond).filter { $0 > 0 }
        let yMin = pow(10, (log10(rates.min() ?? 1)).rounded(.down)), yMax = pow(10, max((log10(rates.max() ?? 10)).rounded(.up), log10(yMin) + 1))
        func x(_ recall: Double) -> Double { m.left + (recall - xMin) / (1 - xMin) * plotWidth }
        func y(_ rate: Double) -> Double { m.top + (1 - (log10(max(rate, yMin)) - log10(yMin)) / (log10(yMax) - log10(yMin))) * plotHeight }
        func f(_ value: Double) -> String { String(format: "%.1f", value) }

        var out = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(Self.width))" height="\(Int(Self.height))" viewBox="0 0 \(Int(Self.width)) \(Int(Self.height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(Self.width / 2))" y="24" text-anchor="middle" font-size="15">\(Self.escape(title))</text>

        """
        // Grid and ticks: recall every step, throughput every decade (with 2× and 5× minor lines).
        var tick = xMin
        while tick <= 1 + 1e-9 {
            out += "<line x1=\"\(f(x(tick)))\" y1=\"\(f(m.top))\" x2=\"\(f(x(tick)))\" y2=\"\(f(m.top + plotHeight))\" stroke=\"#e5e5e5\"/>\n"
            out += "<text x=\"\(f(x(tick)))\" y=\"\(f(m.top + plotHeight + 18))\" text-anchor=\"middle\">\(String(format: "%.2f", tick))</text>\n"
            tick += step
        }
        // Two decades or fewer: the 2× and 5× lines are labelled too.
        let labelsMinor = log10(yMax) - log10(yMin) <= 2.0001
        var decade = yMin
        while decade <= yMax * 1.0001 {
            out += "<line x1=\"\(f(m.left))\" y1=\"\(f(y(decade)))\" x2=\"\(f(m.left + plotWidth))\" y2=\"\(f(y(decade)))\" stroke=\"#d0d0d0\"/>\n"
            out += "<text x=\"\(f(m.left - 8))\" y=\"\(f(y(decade) + 4))\" text-anchor=\"end\">\(Self.rateLabel(decade))</text>\n"
            for minor in [2.0, 5.0] where decade * minor < yMax {
                out += "<line x1=\"\(f(m.left))\" y1=\"\(f(y(decade * minor)))\" x2=\"\(f(m.left + plotWidth))\" y2=\"\(f(y(decade * minor)))\" stroke=\"#f0f0f0\"/>\n"
                if labelsMinor {
                    out += "<text x=\"\(f(m.left - 8))\" y=\"\(f(y(decade * minor) + 4))\" text-anchor=\"end\" fill=\"#666\">\(Self.rateLabel(decade * minor))</text>\n"
                }
            }
            decade *= 10
        }
        out += "<rect x=\"\(f(m.left))\" y=\"\(f(m.top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
        out += "<text x=\"\(f(m.left + plotWidth / 2))\" y=\"\(f(Self.height - 22))\" text-anchor=\"middle\" font-size=\"13\">recall@\(k)</text>\n"
        out += "<text transform=\"translate(22 \(f(m.top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">queries per second (log scale)</text>\n"

        for (s, line) in series.enumerated() {
            let colour = Self.colours[s % Self.colours.count]
            let path = line.points.map { "\(f(x($0.recall))),\(f(y($0.queriesPerSecond)))" }.joined(separator: " ")
            out += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
            for point in line.points {
                out += "<circle cx=\"\(f(x(point.recall)))\" cy=\"\(f(y(point.queriesPerSecond)))\" r=\"\(point.onFront ? 5 : 4)\" "
                    + "fill=\"\(point.onFront ? colour : "white")\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
                if !point.label.isEmpty {
                    out += "<text x=\"\(f(x(point.recall) + 7))\" y=\"\(f(y(point.queriesPerSecond) - 7))\" font-size=\"10\" fill=\"#555\">\(Self.escape(point.label))</text>\n"
                }
            }
            // Legend, top right.
            let ly = m.top + 18 + Double(s) * 18
            out += "<line x1=\"\(f(m.left + plotWidth - 190))\" y1=\"\(f(ly - 4))\" x2=\"\(f(m.left + plotWidth - 166))\" y2=\"\(f(ly - 4))\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
            out += "<text x=\"\(f(m.left + plotWidth - 160))\" y=\"\(f(ly))\">\(Self.escape(line.name))</text>\n"
        }
        let ly = m.top + 18 + Double(series.count) * 18
        out += "<circle cx=\"\(f(m.left + plotWidth - 178))\" cy=\"\(f(ly - 4))\" r=\"5\" fill=\"#333\"/>\n"
        out += "<text x=\"\(f(m.left + plotWidth - 160))\" y=\"\(f(ly))\">Pareto front (filled)</text>\n"
        out += "</svg>\n"
        return out
    }

    static func rateLabel(_ rate: Double) -> String {
        rate >= 1_000_000 ? "\(Int(rate / 1_000_000))M" : rate >= 1_000 ? "\(Int(rate / 1_000))k" : "\(Int(rate))"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
