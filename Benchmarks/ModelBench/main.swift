// model-bench: per model variant at one input size, the parameter count,
// GFLOP per megapixel (counted from layer shapes, see FlopCounter), peak
// memory and forward throughput, next to the PyTorch reference
// (scripts/model_reference.py) measured in the same run. Release build,
// from the repository root:
//
//   swift run -c release model-bench [SIZE] [REPS] [VARIANTS]
//
// SIZE: N for an N×N input or WIDTHxHEIGHT, e.g. 3840x2160 (default 512);
// REPS: timed forward
// passes after one warm-up (median reported; default 3); VARIANTS:
// comma-separated (default all). Each measurement runs in its own child
// process so that peak RSS belongs to one model. Without python3 and torch
// the PyTorch columns read "-".
import Foundation
import Model
import Tensor

// libgomp and OpenBLAS read their settings when they load: set them and
// start again once (as tensor-bench does).
if getenv("OMP_WAIT_POLICY") == nil {
  setenv("OMP_WAIT_POLICY", "passive", 1)
  setenv("OMP_NUM_THREADS", "2", 1)
  setenv("OPENBLAS_NUM_THREADS", "2", 1)
  let args = CommandLine.arguments.map { strdup($0) } + [nil]
  execv("/proc/self/exe", args)
}

/// Peak resident set size of this process so far, in bytes.
func peakRSS() -> Int {
  var usage = rusage()
  getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
  return usage.ru_maxrss * 1024
}

/// Child mode: `--child VARIANT SIZE REPS` prints one JSON line.
/// `N` or `WxH` as (width, height).
func parseSize(_ text: String) -> (width: Int, height: Int)? {
  let parts = text.lowercased().split(separator: "x").compactMap { Int($0) }
  guard let first = parts.first, let last = parts.last, parts.count <= 2 else { return nil }
  return (first, last)
}

func runChild(variant: ModelVariant, size: (width: Int, height: Int), reps: Int) throws {
  let base = peakRSS()
  let model = try SegmentationModel(config: ModelConfig(variant: variant))
  var rng = Xoshiro256(seed: 0)
  let x = Tensor.uniform([1, 3, size.height, size.width], rng: &rng)
  let flops = try FlopCounter.count { _ = try withNoGrad { try model(x) } }
  var times: [Double] = []
  for _ in 0..<reps {
    let start = DispatchTime.now().uptimeNanoseconds
    _ = try withNoGrad { try model(x) }
    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
  }
  times.sort()
  var tokenizerSeconds: Double? = nil
  if ModelConfig(variant: variant).hasTokenizer {
    var t: [Double] = []
    for _ in 0..<reps {
      let start = DispatchTime.now().uptimeNanoseconds
      _ = try withNoGrad { try model.tokenize(x) }
      t.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    tokenizerSeconds = t.sorted()[t.count / 2]
  }
  var result: [String: Any] = [
    "parameters": model.parameterCount, "flops": flops,
    "seconds": times[times.count / 2], "peak_rss_bytes": peakRSS(),
    "base_rss_bytes": base,
  ]
  if let tokenizerSeconds { result["tokenizer_seconds"] = tokenizerSeconds }
  let data = try JSONSerialization.data(withJSONObject: result)
  print(String(decoding: data, as: UTF8.self))
}

/// Runs a command and parses the last line of its stdout as JSON.
func runJSON(_ executable: String, _ args: [String]) -> [String: Any]? {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: executable)
  process.arguments = args
  let pipe = Pipe()
  process.standardOutput = pipe
  process.standardError = FileHandle.nullDevice
  do { try process.run() } catch { return nil }
  let data = pipe.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  guard process.terminationStatus == 0,
    let line = String(decoding: data, as: UTF8.self)
      .split(separator: "\n").last,
    let object = try? JSONSerialization.jsonObject(with: Data(line.utf8))
  else { return nil }
  return object as? [String: Any]
}

let args = Array(CommandLine.arguments.dropFirst())
if args.first == "--child", args.count == 4,
  let variant = ModelVariant(rawValue: args[1]), let size = parseSize(args[2]),
  let reps = Int(args[3])
{
  try runChild(variant: variant, size: size, reps: reps)
  exit(0)
}

let size = (args.first.flatMap(parseSize)) ?? (512, 512)
let sizeText = "\(size.width)x\(size.height)"
let reps = args.count > 1 ? Int(args[1]) ?? 3 : 3
let variants =
  args.count > 2
  ? args[2].split(separator: ",").compactMap { ModelVariant(rawValue: String($0)) }
  : ModelVariant.allCases
let megapixels = Double(size.width * size.height) / 1e6
let script = FileManager.default.currentDirectoryPath
  + "/scripts/model_reference.py"
let tmp = NSTemporaryDirectory() + "model-bench-\(getpid())"
try FileManager.default.createDirectory(
  atPath: tmp, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: tmp) }

func mb(_ bytes: Any?) -> String {
  guard let b = bytes as? Int else { return "-" }
  return String(format: "%.0f", Double(b) / 1_048_576)
}
func perMpx(_ seconds: Any?) -> String {
  guard let s = seconds as? Double else { return "-" }
  return String(format: "%.3f", s / megapixels)
}
func rate(_ seconds: Any?) -> String {
  guard let s = seconds as? Double else { return "-" }
  return String(format: "%.2f", megapixels / s)
}

print("model-bench: \(size.width)×\(size.height) input, batch 1, forward without")
print("gradients, median of \(reps) after one warm-up, 2 threads.")
print("RSS in MiB: peak (and before building the model).")
print("")
print("Tokenizer: E + quantiser alone, Swift, seconds per megapixel.")
print("")
print(
  "| variant | parameters | GFLOP/Mpx | Swift peak RSS | Swift Mpx/s "
    + "| tokenizer s/Mpx | PyTorch parameters | PyTorch peak RSS "
    + "| PyTorch Mpx/s |")
print("|---|---|---|---|---|---|---|---|---|")
for variant in variants {
  let swift = runJSON(
    "/proc/self/exe", ["--child", variant.rawValue, sizeText, "\(reps)"])
  let configPath = tmp + "/\(variant.rawValue).json"
  try ModelConfig(variant: variant).save(path: configPath)
  let torch = runJSON(
    "/usr/bin/env",
    ["python3", script, "bench", configPath, sizeText, "\(reps)"])
  let flops = (swift?["flops"] as? Int).map {
    String(format: "%.2f", Double($0) / 1e9 / megapixels)
  }
  print(
    "| \(variant.rawValue) | \(swift?["parameters"] ?? "-") | \(flops ?? "-") "
      + "| \(mb(swift?["peak_rss_bytes"])) (\(mb(swift?["base_rss_bytes"]))) "
      + "| \(rate(swift?["seconds"])) "
      + "| \(perMpx(swift?["tokenizer_seconds"])) "
      + "| \(torch?["parameters"] ?? "-") "
      + "| \(mb(torch?["peak_rss_bytes"])) (\(mb(torch?["base_rss_bytes"]))) "
      + "| \(rate(torch?["seconds"])) |")
}
