// swift-tools-version: 6.0
import PackageDescription

// One library holds everything testable; the executable is a thin wrapper around `CLI.main`.
// No package dependencies: the toolchain only (stdlib, Foundation, Dispatch, Synchronization).
let package = Package(
    name: "knnbatch",
    products: [
        .executable(name: "knnbatch", targets: ["knnbatch"]),
        .library(name: "KNNCore", targets: ["KNNCore"]),
    ],
    targets: [
        .target(name: "KNNCore"),
        .executableTarget(name: "knnbatch", dependencies: ["KNNCore"]),
        .testTarget(name: "KNNCoreTests", dependencies: ["KNNCore"]),
        // Runs the built `knnbatch` binary on the jobs in jobs/ and on bad inputs.
        .testTarget(name: "EndToEndTests", dependencies: ["knnbatch", "KNNCore"]),
    ]
)
