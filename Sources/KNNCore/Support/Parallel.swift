import Dispatch
import Synchronization

/// Runs `body(i)` for `i` in `0..<count` on at most `threads` workers, each taking the next item
/// from a shared counter. `body` must only touch state no other item touches.
enum Parallel {
    static func forEach(_ count: Int, threads: Int, _ body: @Sendable (Int) -> Void) {
        guard count > 0 else { return }
        let next = SliceCounter()
        DispatchQueue.concurrentPerform(iterations: max(1, min(threads, count))) { _ in
            while true {
                let i = next.take()
                guard i < count else { return }
                body(i)
            }
        }
    }
}

/// One slot per chunk, each written by exactly one worker. Values need not be bitwise-copyable
/// (arrays of links), so this holds its own initialised memory rather than an `AlignedBuffer`.
final class ChunkSlots<Value: Sendable>: @unchecked Sendable {
    let values: UnsafeMutablePointer<Value>
    let count: Int
    init(count: Int, initial: Value) {
        self.count = max(count, 1)
        values = .allocate(capacity: self.count)
        values.initialize(repeating: initial, count: self.count)
    }
    deinit {
        values.deinitialize(count: count)
        values.deallocate()
    }
}

/// Hands out slice numbers to workers, each exactly once.
final class SliceCounter: Sendable {
    private let value = Atomic<Int>(0)
    func take() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }
}
