// swift-tools-version: 6.0
//
// HoloHisto: end-to-end segmentation of gigapixel whole-slide images.
//
// Modules depend one way, down this list (see docs/ARCHITECTURE.md):
//   holohisto (CLI) → Sampling → SlideIO → C libraries
//   Tensor → C libraries (OpenBLAS, oneDNN)
// Later concerns get their own module beside these: NN, Model, Training,
// Inference, Evaluation, Exports.
import PackageDescription

let package = Package(
  name: "HoloHisto",
  products: [
    .library(name: "SlideIO", targets: ["SlideIO"]),
    .library(name: "Sampling", targets: ["Sampling"]),
    .library(name: "Tensor", targets: ["Tensor"]),
    .library(name: "Evaluation", targets: ["Evaluation"]),
    .library(name: "Model", targets: ["Model"]),
    .library(name: "Training", targets: ["Training"]),
    .library(name: "Exports", targets: ["Exports"]),
    .library(name: "Inference", targets: ["Inference"]),
    .executable(name: "holohisto", targets: ["holohisto"]),
    .executable(name: "slide-bench", targets: ["SlideBench"]),
    .executable(name: "tensor-bench", targets: ["TensorBench"]),
    .executable(name: "model-bench", targets: ["ModelBench"]),
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
    .systemLibrary(
      name: "COpenBLAS", pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev"])]),
    // oneDNN 2.6 ships no pkg-config file: the module map links `dnnl` and
    // `gomp` by name.
    .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),

    // setjmp/longjmp glue for libpng's full API (see its header for why).
    .target(name: "CPNGDecode", dependencies: ["CPNG"]),

    // MARK: Library modules

    .target(
      name: "SlideIO",
      dependencies: ["COpenSlide", "CTIFF", "CTurboJPEG", "CPNG", "CPNGDecode", "CZlib"]),
    .target(name: "Sampling", dependencies: ["SlideIO"]),
    .target(name: "Tensor", dependencies: ["COpenBLAS", "CDNNL"]),
    .target(name: "Evaluation", dependencies: ["SlideIO", "Sampling"]),
    .target(name: "Model", dependencies: ["Tensor"]),
    .target(name: "Exports", dependencies: ["SlideIO", "CTIFF", "CZlib"]),
    .target(
      name: "Inference", dependencies: ["Model", "Tensor", "Sampling", "SlideIO", "Exports"]),
    .target(name: "Training", dependencies: ["Model", "Tensor", "Sampling", "SlideIO"]),

    // MARK: Executables

    .executableTarget(
      name: "holohisto",
      dependencies: [
        "SlideIO", "Sampling", "Evaluation", "Model", "Training", "Inference", "Exports",
      ]),

    // MARK: Benchmarks (release builds; see BENCHMARKS.md)

    .executableTarget(
      name: "SlideBench", dependencies: ["SlideIO"], path: "Benchmarks/SlideBench"),
    .executableTarget(
      name: "TensorBench", dependencies: ["Tensor"], path: "Benchmarks/TensorBench"),
    .executableTarget(
      name: "ModelBench", dependencies: ["Model", "Tensor"], path: "Benchmarks/ModelBench"),

    // MARK: Tests

    .testTarget(name: "SlideIOTests", dependencies: ["SlideIO"], exclude: ["Fixtures"]),
    .testTarget(name: "SamplingTests", dependencies: ["Sampling", "SlideIO"]),
    .testTarget(name: "CLITests", dependencies: ["SlideIO"]),
    .testTarget(
      name: "TrainingTests",
      dependencies: ["Training", "Model", "Tensor", "SlideIO", "Sampling"]),
    .testTarget(name: "ExportsTests", dependencies: ["Exports", "SlideIO"]),
    .testTarget(
      name: "InferenceTests", dependencies: ["Inference", "Sampling", "SlideIO", "Tensor"]),
    .testTarget(name: "ModelTests", dependencies: ["Model", "Tensor"], exclude: ["Fixtures"]),
    .testTarget(
      name: "EvaluationTests", dependencies: ["Evaluation", "SlideIO", "Sampling"],
      exclude: ["Fixtures"]),
    .testTarget(
      name: "TensorTests", dependencies: ["Tensor", "CDNNL"], exclude: ["Fixtures"]),
  ]
)
