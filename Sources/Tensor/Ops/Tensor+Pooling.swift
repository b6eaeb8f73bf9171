/// Average and max pooling over the last two dimensions of NCHW images.
extension Tensor {
  /// Max over `kernel`×`kernel` windows; padding never wins (PyTorch's
  /// `max_pool2d`, `ceil_mode=false`). `stride` defaults to `kernel`.
  public func maxPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0)
    -> Tensor
  {
    pool(kernel: kernel, stride: stride ?? kernel, padding: padding, max: true)
  }

  /// Mean over `kernel`×`kernel` windows, zero padding counted in the
  /// divisor (PyTorch's `avg_pool2d` defaults). `stride` defaults to
  /// `kernel`.
  public func avgPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0)
    -> Tensor
  {
    pool(kernel: kernel, stride: stride ?? kernel, padding: padding, max: false)
  }

  private func pool(kernel k: Int, stride s: Int, padding p: Int, max: Bool)
    -> Tensor
  {
    precondition(
      rank == 4 && k > 0 && s > 0 && p >= 0 && p * 2 <= k,
      "pool2d: input \(shape), kernel \(k), stride \(s), padding \(p)")
    let h = shape[2], w = shape[3]
    let oh = ConvGeometry.outputSize(h + 2 * p - k, s)
    let ow = ConvGeometry.outputSize(w + 2 * p - k, s)
    precondition(oh > 0 && ow > 0, "pool2d: input \(shape) < kernel \(k)")
    let planes = shape[0] * shape[1]
    let outShape = [shape[0], shape[1], oh, ow]
    let out = Tensor.empty(outShape)
    // For max pooling, the flat in-plane index of each winner.
    var argmax = max ? [Int32](repeating: 0, count: planes * oh * ow) : []
    let px = storage.pointer, po = out.storage.pointer
    let inv = 1 / Float(k * k)
    argmax.withUnsafeMutableBufferPointer { ab in
      let am = ab.baseAddress
      Parallel.forEach(planes, costPerItem: oh * ow * k * k) { pl in
        let src = px + pl * h * w
        for oy in 0..<oh {
          let y0 = Swift.max(oy * s - p, 0), y1 = Swift.min(oy * s - p + k, h)
          for ox in 0..<ow {
            let x0 = Swift.max(ox * s - p, 0)
            let x1 = Swift.min(ox * s - p + k, w)
            let o = (pl * oh + oy) * ow + ox
            if max {
              var best = -Float.infinity, at = y0 * w + x0
              for y in y0..<y1 {
                for x in x0..<x1 where src[y * w + x] > best {
                  best = src[y * w + x]
                  at = y * w + x
                }
              }
              po[o] = best
              am?[o] = Int32(at)
            } else {
              var sum: Float = 0
              for y in y0..<y1 {
                for x in x0..<x1 { sum += src[y * w + x] }
              }
              po[o] = sum * inv
            }
          }
        }
      }
    }
    let winners = argmax
    return Tensor.result(
      shape: outShape, storage: out.storage, parents: [self]
    ) { g, _ in
      let gx = Tensor.zeros(self.shape)
      let pg = g.storage.pointer, pd = gx.storage.pointer
      Parallel.forEach(planes, costPerItem: oh * ow * k * k) { pl in
        let dst = pd + pl * h * w
        for oy in 0..<oh {
          for ox in 0..<ow {
            let o = (pl * oh + oy) * ow + ox
            if max {
              dst[Int(winners[o])] += pg[o]
              continue
            }
            let y0 = Swift.max(oy * s - p, 0)
            let y1 = Swift.min(oy * s - p + k, h)
            let x0 = Swift.max(ox * s - p, 0)
            let x1 = Swift.min(ox * s - p + k, w)
            let v = pg[o] * inv
            for y in y0..<y1 {
              for x in x0..<x1 { dst[y * w + x] += v }
            }
          }
        }
      }
      return [gx]
    }
  }
}
