// swift-tools-version: 6.0
import PackageDescription

// One library holds everything testable; the executable is a thin wrapper around
// `CommandLineTool.main`. No package dependencies: the toolchain only.
//
// The tile kernel (Sources/KNNKernelsBaseline/TileScan.swift) is compiled three times with
// different target CPUs; the AVX2 and AVX-512 targets hold symlinks to that one file. KNNCore
// chooses a build at run time from the CPU's features (KernelVariant.swift), so a release binary
// runs on any x86-64 CPU and uses 512-bit FMAs where the CPU has them. The int16 tile
// (QuantizedTileScan.swift) is compiled the same way, plain and for AVX-512 VNNI.
// The library is optimised in debug builds too: the tests run the real kernels on realistic
// sizes, and unoptimised SIMD code is about a hundred times slower. (-enable-testing, which debug
// builds add, keeps @testable imports working.)
let optimizedInDebug = SwiftSetting.unsafeFlags(["-O"], .when(configuration: .debug))

let package = Package(
    name: "knnbatch",
    products: [
        .executable(name: "knnbatch", targets: ["knnbatch"]),
        .library(name: "KNNCore", targets: ["KNNCore"]),
    ],
    targets: [
        .target(name: "KNNKernelsBaseline", swiftSettings: [optimizedInDebug]),
        .target(name: "KNNKernelsAVX2",
                swiftSettings: [.define("FUSED_MULTIPLY_ADD"), .unsafeFlags(["-target-cpu", "haswell"]), optimizedInDebug]),
        .target(name: "KNNKernelsAVX512",
                swiftSettings: [.define("FUSED_MULTIPLY_ADD"), .unsafeFlags(["-target-cpu", "skylake-avx512"]), optimizedInDebug]),
        // The int16 tile (QuantizedTileScan.swift): AVX-512 VNNI's vpdpwssd, which Swift reaches
        // only as an LLVM intrinsic through the Builtin module.
        .target(name: "KNNKernelsVNNI",
                swiftSettings: [.define("VNNI"), .enableExperimentalFeature("BuiltinModule"),
                                .unsafeFlags(["-target-cpu", "cascadelake"]), optimizedInDebug]),
        .target(name: "KNNCore", dependencies: ["KNNKernelsBaseline", "KNNKernelsAVX2", "KNNKernelsAVX512", "KNNKernelsVNNI"],
                exclude: ["Indexes/README.md"],
                swiftSettings: [optimizedInDebug, .unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        .executableTarget(name: "knnbatch", dependencies: ["KNNCore"]),
        // Fuzz targets for the parsers (Tests/Fuzz/run.sh builds them with -sanitize=fuzzer);
        // built normally, a tool that replays inputs through them.
        .executableTarget(name: "knnbatch-fuzz", dependencies: ["KNNCore"]),
        .testTarget(name: "KNNCoreTests", dependencies: ["KNNCore"]),
        // Runs the built `knnbatch` binary on the jobs in jobs/ and on bad inputs.
        .testTarget(name: "EndToEndTests", dependencies: ["knnbatch", "KNNCore"]),
    ]
)
