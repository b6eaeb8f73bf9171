// oneDNN pooling against naive loops, forward and backward.
import Testing

@testable import Tensor

/// Naive max / average pooling on NCHW and its backward.
enum PoolReference {
  typealias Shape = DNNL.Pool2DShape

  /// Visits each output cell with the in-image input indices of its window.
  static func forEachWindow(_ s: Shape, _ body: (Int, [Int]) -> Void) {
    for plane in 0..<(s.batch * s.channels) {
      for oy in 0..<s.outputHeight {
        for ox in 0..<s.outputWidth {
          var members: [Int] = []
          for ky in 0..<s.kernelHeight {
            let iy = oy * s.strideY - s.padTop + ky
            guard iy >= 0 && iy < s.height else { continue }
            for kx in 0..<s.kernelWidth {
              let ix = ox * s.strideX - s.padLeft + kx
              guard ix >= 0 && ix < s.width else { continue }
              members.append((plane * s.height + iy) * s.width + ix)
            }
          }
          body((plane * s.outputHeight + oy) * s.outputWidth + ox, members)
        }
      }
    }
  }

  /// Divisor of an average window with `members` in-image cells.
  static func divisor(_ s: Shape, _ members: Int) -> Float {
    s.kind == .averageIncludingPadding ? Float(s.kernelHeight * s.kernelWidth) : Float(members)
  }

  static func forward(_ s: Shape, _ x: [Float]) -> [Float] {
    var y = [Float](repeating: 0, count: s.outputCount)
    forEachWindow(s) { out, members in
      if s.kind == .max {
        y[out] = members.map { x[$0] }.max() ?? -.infinity
      } else {
        y[out] = members.reduce(0) { $0 + x[$1] } / divisor(s, members.count)
      }
    }
    return y
  }

  static func backward(_ s: Shape, _ x: [Float], _ dy: [Float]) -> [Float] {
    var dx = [Float](repeating: 0, count: s.inputCount)
    forEachWindow(s) { out, members in
      if s.kind == .max {
        // random inputs: the maximum is unique
        if let winner = members.max(by: { x[$0] < x[$1] }) { dx[winner] += dy[out] }
      } else {
        for member in members { dx[member] += dy[out] / divisor(s, members.count) }
      }
    }
    return dx
  }
}

@Suite("DNNL pooling")
struct PoolingTests {
  typealias Shape = DNNL.Pool2DShape

  static let cases: [Shape] = [
    DNNL.PoolingKind.max, .averageIncludingPadding,
    .averageExcludingPadding,
  ].flatMap { kind in
    [
      // 2×2 stride 2 (the common downsampling)
      Shape(
        kind: kind, batch: 2, channels: 3, height: 8, width: 6, kernelHeight: 2,
        kernelWidth: 2, strideY: 2, strideX: 2),
      // 3×3 stride 2 with asymmetric padding, overlapping windows
      Shape(
        kind: kind, batch: 1, channels: 4, height: 9, width: 7, kernelHeight: 3,
        kernelWidth: 3, strideY: 2, strideX: 2, padTop: 1, padLeft: 0, padBottom: 1,
        padRight: 1),
      // 3×3 stride 1 pad 1, 9 channels (not a multiple of the 8-wide block)
      Shape(
        kind: kind, batch: 2, channels: 9, height: 5, width: 5, kernelHeight: 3,
        kernelWidth: 3, strideY: 1, strideX: 1, padTop: 1, padLeft: 1, padBottom: 1,
        padRight: 1),
    ]
  }

  @Test("forward and backward match the naive loops", arguments: 0..<cases.count)
  func poolingMatches(caseIndex: Int) throws {
    let s = Self.cases[caseIndex]
    var random = SeededRandom(seed: UInt64(300 + caseIndex))
    let x = random.array(s.inputCount)
    let dy = random.array(s.outputCount)
    let workspaceBytes = try DNNL.poolingWorkspaceByteCount(s)
    #expect((workspaceBytes > 0) == (s.kind == .max))
    let workspace = UnsafeMutableRawPointer.allocate(
      byteCount: max(workspaceBytes, 1), alignment: 64)
    defer { workspace.deallocate() }

    // training forward (with workspace for max) and inference forward agree
    var y = [Float](repeating: .nan, count: s.outputCount)
    try DNNL.pool2dForward(s, input: x, output: &y, workspace: workspace)
    var yInference = [Float](repeating: .nan, count: s.outputCount)
    try DNNL.pool2dForward(s, input: x, output: &yInference, workspace: nil)
    let expected = PoolReference.forward(s, x)
    expectNonTrivial(expected)
    expectClose(y, expected, absolute: 1e-6, relative: 1e-6, "\(s.kind) y")
    expectClose(yInference, expected, absolute: 1e-6, relative: 1e-6, "\(s.kind) y inference")

    var dx = [Float](repeating: .nan, count: s.inputCount)
    try DNNL.pool2dBackward(s, outputGradient: dy, inputGradient: &dx, workspace: workspace)
    let expectedDx = PoolReference.backward(s, x, dy)
    expectNonTrivial(expectedDx)
    expectClose(dx, expectedDx, absolute: 1e-6, relative: 1e-5, "\(s.kind) dx")
  }
}
