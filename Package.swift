// swift-tools-version: 6.1
import PackageDescription

/// Release builds of the numeric modules use -Ounchecked where it was measured to help.
let fast: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

let package = Package(
    name: "SpecDec",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "specdec", targets: ["specdec"]),
        .library(name: "SpecDecEngine", targets: ["SpecDecEngine"]),
        // The parsers of untrusted input, for the fuzz targets in Fuzz/ (a package of its own).
        .library(name: "SpecDecGGUF", targets: ["SpecDecGGUF"]),
        .library(name: "SpecDecKernels", targets: ["SpecDecKernels"]),
        .library(name: "SpecDecTokenizer", targets: ["SpecDecTokenizer"]),
        .library(name: "SpecDecModel", targets: ["SpecDecModel"]),
        .library(name: "SpecDecBench", targets: ["SpecDecBench"]),
        .library(name: "SpecDecServer", targets: ["SpecDecServer"]),
        .library(name: "SpecDecTestSupport", targets: ["SpecDecTestSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    ],
    targets: [
        // Vector kernels, one folder per instruction set (avx512/, avx2/; run-time CPU checks, per-function
        // target attributes, so one binary runs on every x86-64 CPU); -O2 even in debug builds, since
        // unoptimized intrinsics are ~30x slower and would stall every debug test.
        .target(name: "SpecDecCKernels", path: "Sources/CKernels", cSettings: [.unsafeFlags(["-O2"])]),
        .target(name: "SpecDecKernels", dependencies: ["SpecDecCKernels"], path: "Sources/Kernels", swiftSettings: fast),
        .target(name: "SpecDecGGUF", dependencies: ["SpecDecKernels"], path: "Sources/GGUF"),
        .target(name: "SpecDecTokenizer", dependencies: ["SpecDecGGUF"], path: "Sources/Tokenizer", swiftSettings: fast),
        .target(name: "SpecDecModel", dependencies: ["SpecDecGGUF", "SpecDecKernels"], path: "Sources/Model", swiftSettings: fast),
        // JSON helpers for the stats and report types: defaults for absent keys, explicit nulls, derived figures.
        .target(name: "SpecDecCoding", path: "Sources/Coding"),
        .target(name: "SpecDecSpeculation", dependencies: ["SpecDecCoding", "SpecDecModel", "SpecDecKernels"], path: "Sources/Speculation",
                swiftSettings: fast),
        .target(name: "SpecDecEngine", dependencies: ["SpecDecSpeculation", "SpecDecModel", "SpecDecTokenizer", "SpecDecGGUF", "SpecDecKernels"],
                path: "Sources/Engine", swiftSettings: fast),
        .target(name: "SpecDecBench", dependencies: ["SpecDecEngine", "SpecDecKernels"], path: "Sources/Bench"),
        // The OpenAI-compatible HTTP server (`specdec serve`): routes, slots, metrics.
        .target(name: "SpecDecServer", dependencies: [
            "SpecDecEngine",
            "SpecDecTokenizer",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Sources/Server"),
        .executableTarget(name: "specdec", dependencies: [
            "SpecDecEngine",
            "SpecDecBench",
            "SpecDecServer",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            "SpecDecKernels",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/specdec"),
        .target(name: "SpecDecTestSupport", dependencies: ["SpecDecGGUF", "SpecDecKernels"], path: "Sources/TestSupport"),
        .testTarget(name: "GGUFTests", dependencies: ["SpecDecGGUF", "SpecDecTestSupport"], path: "Tests/GGUFTests"),
        .testTarget(name: "CodingTests", dependencies: ["SpecDecCoding"], path: "Tests/CodingTests"),
        .testTarget(name: "KernelsTests", dependencies: ["SpecDecKernels"], path: "Tests/KernelsTests"),
        .testTarget(name: "TokenizerTests", dependencies: ["SpecDecTokenizer", "SpecDecTestSupport"], path: "Tests/TokenizerTests"),
        .testTarget(name: "ModelTests", dependencies: ["SpecDecModel", "SpecDecTestSupport"], path: "Tests/ModelTests"),
        .testTarget(name: "SpeculationTests", dependencies: ["SpecDecSpeculation", "SpecDecTestSupport"], path: "Tests/SpeculationTests"),
        .testTarget(name: "BenchTests", dependencies: ["SpecDecBench", "SpecDecTestSupport"], path: "Tests/BenchTests"),
        .testTarget(name: "ServerTests", dependencies: [
            "SpecDecServer", "SpecDecEngine", "SpecDecTestSupport",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Tests/ServerTests"),
        .testTarget(name: "EngineTests", dependencies: ["SpecDecEngine", "SpecDecKernels", "SpecDecTestSupport"], path: "Tests/EngineTests",
                    resources: [.copy("Golden")]),
    ]
)
