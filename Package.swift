// swift-tools-version: 6.0
import PackageDescription

// One library holds everything testable; the executable is a thin wrapper around
// `CommandLineTool.main`. No package dependencies: the toolchain only.
//
// The tile kernel (Sources/KNNKernelsBaseline/TileScan.swift) is compiled three times with
// different target CPUs; the AVX2 and AVX-512 targets hold symlinks to that one file. KNNCore
// chooses a build at run time from the CPU's features (KernelVariant.swift), so a release binary
// runs on any x86-64 CPU and uses 512-bit FMAs where the CPU has them. The int16 tile
// (QuantizedTileScan.swift) is compiled the same way: plain, for AVX2 and for AVX-512 VNNI. The
// exact distance kernels (ExactKernels.swift) are compiled plain, for AVX2 and for AVX-512, and
// give the same bits in each: only their speed depends on the CPU.
// The library is optimised in debug builds too: the tests run the real kernels on realistic
// sizes, and unoptimised SIMD code is about a hundred times slower. (-enable-testing, which debug
// builds add, keeps @testable imports working.)
let optimizedInDebug = SwiftSetting.unsafeFlags(["-O"], .when(configuration: .debug))

// x86-64 target CPUs and x86 intrinsics only where they exist. Elsewhere (arm64: Apple silicon,
// Graviton) every kernel target compiles the plain code, and the baseline build — the one
// KNNCore selects there — fuses multiply-adds (NEON has FMA) and uses the narrow tile, which
// fits its 32 registers of 4 lanes.
#if arch(x86_64)
let x86 = true
#else
let x86 = false
#endif
func x86Settings(_ targetCPU: String, defines: [String], builtins: Bool = false) -> [SwiftSetting] {
    guard x86 else { return [optimizedInDebug] + (builtins ? [.enableExperimentalFeature("BuiltinModule")] : []) }
    return defines.map { .define($0) } + (builtins ? [.enableExperimentalFeature("BuiltinModule")] : [])
        + [.unsafeFlags(["-target-cpu", targetCPU]), optimizedInDebug]
}
let baselineSettings: [SwiftSetting] = x86 ? [optimizedInDebug] : [.define("FUSED_MULTIPLY_ADD"), .define("NARROW_TILE"), optimizedInDebug]

let package = Package(
    name: "knnbatch",
    products: [
        .executable(name: "knnbatch", targets: ["knnbatch"]),
        .library(name: "KNNCore", targets: ["KNNCore"]),
    ],
    targets: [
        .target(name: "KNNKernelsBaseline", swiftSettings: baselineSettings),
        // AVX2 has 16 vector registers, not 32: its tiles are shaped for them (NARROW_TILE), its
        // int16 tile multiplies pairs with vpmaddwd (PMADDWD, through the Builtin module), and its
        // 4-bit code scan looks tables up with vpshufb (PSHUFB; AVX-512 CPUs run it too).
        .target(name: "KNNKernelsAVX2",
                swiftSettings: x86Settings("haswell", defines: ["FUSED_MULTIPLY_ADD", "NARROW_TILE", "PMADDWD", "PSHUFB"], builtins: true)),
        .target(name: "KNNKernelsAVX512", swiftSettings: x86Settings("skylake-avx512", defines: ["FUSED_MULTIPLY_ADD"])),
        // The int16 tile (QuantizedTileScan.swift): AVX-512 VNNI's vpdpwssd, which Swift reaches
        // only as an LLVM intrinsic through the Builtin module.
        .target(name: "KNNKernelsVNNI", swiftSettings: x86Settings("cascadelake", defines: ["VNNI"], builtins: true)),
        .target(name: "KNNCore", dependencies: ["KNNKernelsBaseline", "KNNKernelsAVX2", "KNNKernelsAVX512", "KNNKernelsVNNI"],
                exclude: ["Indexes/README.md"],
                swiftSettings: [optimizedInDebug, .unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        .executableTarget(name: "knnbatch", dependencies: ["KNNCore"]),
        // Fuzz targets for the parsers (Tests/Fuzz/run.sh builds them with -sanitize=fuzzer);
        // built normally, a tool that replays inputs through them.
        .executableTarget(name: "knnbatch-fuzz", dependencies: ["KNNCore"]),
        // Fixtures: small Parquet files written by pyarrow (make_parquet.py beside them), read by path.
        .testTarget(name: "KNNCoreTests", dependencies: ["KNNCore"], exclude: ["Vectors/Fixtures"]),
        // Runs the built `knnbatch` binary on the jobs in jobs/ and on bad inputs.
        .testTarget(name: "EndToEndTests", dependencies: ["knnbatch", "KNNCore"]),
    ]
)
