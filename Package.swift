// swift-tools-version: 6.0
//
// HoloHisto: end-to-end segmentation of gigapixel whole-slide images.
//
// Modules depend one way, down this list (see docs/ARCHITECTURE.md):
//   holohisto (CLI) → Sampling → SlideIO → C libraries
// Later concerns get their own module beside these: Tensor, NN, Model,
// Training, Inference, Evaluation, Exports.
import PackageDescription

let package = Package(
  name: "HoloHisto",
  products: [
    .library(name: "SlideIO", targets: ["SlideIO"]),
    .library(name: "Sampling", targets: ["Sampling"]),
    .executable(name: "holohisto", targets: ["holohisto"]),
    .executable(name: "slide-bench", targets: ["SlideBench"]),
  ],
  targets: [
    // MARK: C libraries from Debian (installed by scripts/setup.sh)

    .systemLibrary(
      name: "COpenSlide", pkgConfig: "openslide",
      providers: [.apt(["libopenslide-dev"])]),
    .systemLibrary(
      name: "CTIFF", pkgConfig: "libtiff-4",
      providers: [.apt(["libtiff-dev"])]),
    .systemLibrary(
      name: "CTurboJPEG", pkgConfig: "libturbojpeg",
      providers: [.apt(["libturbojpeg0-dev"])]),
    .systemLibrary(
      name: "CPNG", pkgConfig: "libpng16",
      providers: [.apt(["libpng-dev"])]),
    .systemLibrary(
      name: "CZlib", pkgConfig: "zlib",
      providers: [.apt(["zlib1g-dev"])]),

    // MARK: Library modules

    .target(
      name: "SlideIO",
      dependencies: ["COpenSlide", "CTIFF", "CTurboJPEG", "CPNG", "CZlib"]),
    .target(name: "Sampling", dependencies: ["SlideIO"]),

    // MARK: Executables

    .executableTarget(
      name: "holohisto", dependencies: ["SlideIO", "Sampling"]),

    // MARK: Benchmarks (release builds; see BENCHMARKS.md)

    .executableTarget(
      name: "SlideBench", dependencies: ["SlideIO"], path: "Benchmarks/SlideBench"),

    // MARK: Tests

    .testTarget(name: "SlideIOTests", dependencies: ["SlideIO"]),
    .testTarget(name: "SamplingTests", dependencies: ["Sampling", "SlideIO"]),
    .testTarget(name: "CLITests", dependencies: ["SlideIO"]),
  ]
)
