/// Direct-loop convolution, the simple reference every optimised
/// convolution path is tested against. Slow; exact summation order aside,
/// it defines the result.
enum Conv2DReference {
  /// `y[n, o, oy, ox] = b[o] + Σ w[o, ci, ky, kx] · x[n, g·cg + ci, iy, ix]`
  /// with `iy = oy·s − p + ky·d`, `ix = ox·s − p + kx·d`.
  static func forward(
    _ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>
  ) {
    forEachTap(g) { yi, xi, wi, o in
      if xi == -1 { y[yi] = bias?[o] ?? 0 } else { y[yi] += w[wi] * x[xi] }
    }
  }

  /// Gradients of the forward map: `gx` and `gw` are overwritten.
  static func backward(
    _ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
    gy: UnsafePointer<Float>, gx: UnsafeMutablePointer<Float>,
    gw: UnsafeMutablePointer<Float>
  ) {
    gx.initialize(repeating: 0, count: g.inputShape.reduce(1, *))
    gw.initialize(repeating: 0, count: g.weightShape.reduce(1, *))
    forEachTap(g) { yi, xi, wi, _ in
      guard xi >= 0 else { return }
      gx[xi] += w[wi] * gy[yi]
      gw[wi] += x[xi] * gy[yi]
    }
  }

  /// Visits every (output, input, weight) index triple; first once per
  /// output element with `xi == -1`.
  private static func forEachTap(
    _ g: ConvGeometry, _ body: (Int, Int, Int, Int) -> Void
  ) {
    let oh = g.outH, ow = g.outW
    for n in 0..<g.batch {
      for o in 0..<g.outChannels {
        let group = o / g.groupOut
        for oy in 0..<oh {
          for ox in 0..<ow {
            let yi = ((n * g.outChannels + o) * oh + oy) * ow + ox
            body(yi, -1, 0, o)
            for ci in 0..<g.groupIn {
              let c = group * g.groupIn + ci
              for ky in 0..<g.kernelH {
                let iy = oy * g.stride - g.padding + ky * g.dilation
                guard iy >= 0 && iy < g.height else { continue }
                for kx in 0..<g.kernelW {
                  let ix = ox * g.stride - g.padding + kx * g.dilation
                  guard ix >= 0 && ix < g.width else { continue }
                  let xi = ((n * g.inChannels + c) * g.height + iy) * g.width + ix
                  let wi = ((o * g.groupIn + ci) * g.kernelH + ky) * g.kernelW + kx
                  body(yi, xi, wi, o)
                }
              }
            }
          }
        }
      }
    }
  }
}
