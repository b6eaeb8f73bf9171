// tensor-bench: times Tensor operations next to PyTorch CPU in the same
// run, both on 2 threads. Build and run in release from the repository
// root:
//
//   swift run -c release tensor-bench [repetitions] [only]
//
// With `only`, just the cases whose name contains it run, on both sides;
// `B0fwd` runs only the B0 forward and no peer (for profiling).
// The PyTorch side is scripts/bench/tensor_peer.py (run as a child process);
// without python3 and torch the table shows only this module's column.
// The multi-scale attention block and the EfficientViT-B0-sized net are
// defined in EfficientViTB0.swift (layer for layer as in the peer).
import Foundation
import Tensor

// libgomp and OpenBLAS read their settings when they load, before main:
// set them and start again once.
if getenv("OMP_WAIT_POLICY") == nil {
  setenv("OMP_WAIT_POLICY", "passive", 1)
  setenv("OMP_NUM_THREADS", "2", 1)
  setenv("OPENBLAS_NUM_THREADS", "2", 1)
  let args = CommandLine.arguments.map { strdup($0) } + [nil]
  execv("/proc/self/exe", args)
}
let reps = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 3
let only = CommandLine.arguments.dropFirst(2).first
func selected(_ name: String) -> Bool { only.map { name.contains($0) } ?? true }

/// Median wall time of `reps` runs after one warm-up, in milliseconds.
/// Starts from an empty buffer pool, so that a case does not depend on
/// the buffers earlier cases left behind.
func medianMs(_ body: () -> Void) -> Double {
  Tensor.releaseCachedMemory()
  body()
  var times: [Double] = []
  for _ in 0..<reps {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
  }
  return times.sorted()[times.count / 2]
}

var rng = Xoshiro256(seed: 0)
var results: [(String, Double)] = []

@MainActor func convCase(_ name: String, cin: Int, cout: Int, k: Int, groups: Int) {
  let x = Tensor.normal([1, cin, 512, 512], rng: &rng)
  x.requiresGrad = true
  let w = Tensor.normal([cout, cin / groups, k, k], rng: &rng)
  w.requiresGrad = true
  let fwd = medianMs {
    _ = withNoGrad { x.conv2d(weight: w, padding: k / 2, groups: groups) }
  }
  let seed = Tensor.normal([1, cout, 512, 512], rng: &rng)
  let both = medianMs {
    x.zeroGrad()
    w.zeroGrad()
    x.conv2d(weight: w, padding: k / 2, groups: groups).backward(seed: seed)
  }
  results.append(("\(name) fwd", fwd))
  results.append(("\(name) fwd+bwd", both))
}

/// The same layers as SmallNet in scripts/bench/tensor_peer.py.
final class SmallNet {
  let c1, dw, pw, c2, c2b, head, headB: Tensor
  let norms: [(Tensor, Tensor, Tensor, Tensor)]

  init(rng: inout Xoshiro256) {
    c1 = Tensor.kaimingNormal([16, 3, 3, 3], rng: &rng)
    dw = Tensor.kaimingNormal([16, 1, 3, 3], rng: &rng)
    pw = Tensor.kaimingNormal([32, 16, 1, 1], rng: &rng)
    c2 = Tensor.kaimingNormal([32, 32, 3, 3], rng: &rng)
    c2b = Tensor.zeros([32])
    head = Tensor.kaimingNormal([2, 32, 1, 1], rng: &rng)
    headB = Tensor.zeros([2])
    norms = [16, 16, 32].map {
      (Tensor.ones([$0]), Tensor.zeros([$0]), Tensor.zeros([$0]), Tensor.ones([$0]))
    }
    for p in parameters { p.requiresGrad = true }
  }

  var parameters: [Tensor] {
    [c1, dw, pw, c2, c2b, head, headB] + norms.flatMap { [$0.0, $0.1] }
  }

  func bn(_ x: Tensor, _ i: Int, _ training: Bool) -> Tensor {
    let n = norms[i]
    return x.batchNorm(
      gamma: n.0, beta: n.1, runningMean: n.2, runningVar: n.3,
      training: training)
  }

  func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
    var h = bn(x.conv2d(weight: c1, stride: 2, padding: 1), 0, training)
      .hardswish()
    h = bn(h.conv2d(weight: dw, padding: 1, groups: 16), 1, training).relu()
    h = bn(h.conv2d(weight: pw), 2, training).gelu()
    h = h.conv2d(weight: c2, bias: c2b, stride: 2, padding: 1).relu()
    h = h.resizeBilinear(height: x.shape[2], width: x.shape[3])
    return h.conv2d(weight: head, bias: headB)
  }
}

@MainActor func netCase(size: Int) {
  let net = SmallNet(rng: &rng)
  let opt = AdamW(parameters: net.parameters, learningRate: 1e-3)
  let x = Tensor.uniform([1, 3, size, size], rng: &rng)
  let targets = (0..<(size * size)).map { _ in Int(rng.next() % 2) }
  let fwd = medianMs { _ = withNoGrad { net(x, training: false) } }
  let step = medianMs {
    opt.zeroGrad()
    net(x, training: true).crossEntropy(targets: targets).backward()
    opt.step()
  }
  results.append(("small net \(size)² fwd", fwd))
  results.append(("small net \(size)² train step", step))
}

if selected("conv3x3") {
  convCase("conv3x3 64→64 512²", cin: 64, cout: 64, k: 3, groups: 1)
}
if selected("depthwise") {
  convCase("depthwise5x5 64 512²", cin: 64, cout: 64, k: 5, groups: 64)
}
if selected("conv1x1") {
  convCase("conv1x1 64→64 512²", cin: 64, cout: 64, k: 1, groups: 1)
}
if selected("small net") { netCase(size: 256) }

/// LiteMLA (64 channels, head dim 16) on a 256×256 token grid.
@MainActor func attentionCase() {
  let block = LiteMLA(64, rng: &rng)
  for p in block.parameters { p.requiresGrad = true }
  let x = Tensor.normal([1, 64, 256, 256], rng: &rng)
  let fwd = medianMs { _ = withNoGrad { block(x, training: false) } }
  let both = medianMs {
    for p in block.parameters { p.zeroGrad() }
    block(x, training: true).mean().backward()
  }
  results.append(("LiteMLA 64ch 256² fwd", fwd))
  results.append(("LiteMLA 64ch 256² fwd+bwd", both))
}

/// The EfficientViT-B0-sized segmentation net at `size`².
@MainActor func b0Case(size: Int) {
  let net = B0Net(rng: &rng)
  let opt = AdamW(parameters: net.parameters, learningRate: 1e-3)
  let x = Tensor.uniform([1, 3, size, size], rng: &rng)
  let targets = (0..<(size * size)).map { _ in Int(rng.next() % 2) }
  let fwd = medianMs { _ = withNoGrad { net(x, training: false) } }
  results.append(("B0 net \(size)² fwd", fwd))
  if only == "B0fwd" { return }  // forward only, for profiling
  fusedInference = false
  let unfused = medianMs { _ = withNoGrad { net(x, training: false) } }
  fusedInference = true
  results.append(("B0 net \(size)² fwd, ops unfused", unfused))
  let step = medianMs {
    opt.zeroGrad()
    net(x, training: true).crossEntropy(targets: targets).backward()
    opt.step()
  }
  results.append(("B0 net \(size)² train step", step))
}

/// The B0 forward at 4096² (a 16.8-megapixel input, about a 4K patch),
/// where the fused kernels' smaller working set matters most.
@MainActor func b0LargeCase() {
  let net = B0Net(rng: &rng)
  let x = Tensor.uniform([1, 3, 4096, 4096], rng: &rng)
  let fwd = medianMs { _ = withNoGrad { net(x, training: false) } }
  results.append(("B0 net 4096² fwd", fwd))
}

if selected("LiteMLA") { attentionCase() }
if selected("B0 net 1024²") || only == "B0fwd" { b0Case(size: 1024) }
if selected("B0 net 4096²") { b0LargeCase() }

/// Runs the PyTorch peer; `[:]` when it cannot.
func peer() -> [String: Double] {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = ["python3", "scripts/bench/tensor_peer.py", String(reps)]
    + (only.map { [$0] } ?? [])
  let pipe = Pipe()
  process.standardOutput = pipe
  do { try process.run() } catch { return [:] }
  let data = pipe.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  let object = try? JSONSerialization.jsonObject(with: data)
  return (object as? [String: Double]) ?? [:]
}

let torch = only == "B0fwd" ? [:] : peer()
func cell(_ s: String, _ width: Int) -> String {
  s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}
let peerNote = torch.isEmpty ? " (PyTorch peer not run)" : ""
print("Tensor vs PyTorch CPU\(peerNote): ms, median of \(reps), 2 threads")
print("| " + cell("case", 32) + " | Tensor | PyTorch | ratio |")
print("|" + String(repeating: "-", count: 34) + "|--------|---------|-------|")
for (name, ms) in results {
  let t = torch[name]
  let ts = t.map { String(format: "%7.1f", $0) } ?? "      -"
  let ratio = t.map { String(format: "%5.2f", ms / $0) } ?? "    -"
  print("| \(cell(name, 32)) | \(String(format: "%6.1f", ms)) | \(ts) | \(ratio) |")
}
