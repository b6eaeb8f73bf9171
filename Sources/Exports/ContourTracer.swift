import SlideIO

/// A corner of the mask's pixel grid, in **mask pixels**: corner `(x, y)` is
/// the top-left corner of mask pixel `(x, y)`; corners run `0…width` and
/// `0…height`.
public struct MaskCorner: Hashable, Sendable {
  public var x: Int
  public var y: Int

  public init(x: Int, y: Int) {
    self.x = x
    self.y = y
  }
}

/// One connected object of one class, as a polygon on pixel edges.
public struct TracedObject: Sendable, Equatable {
  /// The class value `k` of every pixel of the object.
  public var classValue: UInt8
  /// Number of mask pixels in the object (exactly the polygon's area in
  /// mask pixels²; after ``fillingHoles(smallerThan:)``, filled holes
  /// count too).
  public var pixelCount: Int
  /// The outer ring: closed (last corner repeats the first), positive
  /// signed (shoelace) area in the (x, y) numbers, i.e. counter-clockwise
  /// with y drawn upwards (RFC 7946's right-hand rule), clockwise on screen
  /// where y grows downwards. Only corners where the boundary turns.
  public var exterior: [MaskCorner]
  /// The holes: closed rings of negative signed area (clockwise by the same
  /// reading), one per 4-connected region of other values (background or
  /// other objects) that the object encloses.
  public var holes: [[MaskCorner]]
  /// Level-0 position of mask corner (0, 0), from the traced ``LabelMask``.
  public var origin: Level0Point
  /// Level-0 pixels per mask pixel, from the traced ``LabelMask``.
  public var downsample: Double

  /// The object's area in level-0 pixels²: pixel count × downsample².
  public var level0Area: Double { Double(pixelCount) * downsample * downsample }

  /// The object with every hole smaller than `minimumArea` level-0 px²
  /// dropped and its area added to ``pixelCount``, so the polygon's area
  /// still equals the count: pinholes of a few pixels in a predicted mask
  /// are noise, not structure.
  public func fillingHoles(smallerThan minimumArea: Double) -> TracedObject {
    var result = self
    result.holes = []
    for hole in holes {
      let pixels = -ContourTracer.signedDoubleArea(hole) / 2
      if Double(pixels) * downsample * downsample < minimumArea {
        result.pixelCount += pixels
      } else {
        result.holes.append(hole)
      }
    }
    return result
  }

  /// Mask corner `corner` in level-0 pixels: `origin + corner · downsample`.
  public func level0(_ corner: MaskCorner) -> (x: Double, y: Double) {
    (Double(origin.x) + Double(corner.x) * downsample,
      Double(origin.y) + Double(corner.y) * downsample)
  }
}

/// Extracts polygons from a label mask by following pixel edges ("cracks").
///
/// Objects are the 4-connected regions of equal non-zero value: pixels that
/// touch only at a corner are separate objects. Each object becomes one
/// polygon whose rings run along pixel edges, so:
/// - the polygon's area equals the object's pixel count exactly;
/// - rings are closed and simple (no vertex repeats, no crossings). Where
///   two pixels of the same object meet only at a corner, the ring passes
///   the corner so that the object stays connected through it; the
///   region on the other diagonal becomes a hole that touches the exterior
///   (or another hole) at that single corner, which OGC Simple Features and
///   Shapely accept as valid;
/// - collinear corners are dropped (only turning points are kept).
///
/// Memory: the mask plus 5 bytes per pixel (a 32-bit component label and a
/// visited flag).
/// - Complexity: O(pixels).
public enum ContourTracer {
  /// Traces every object of every non-zero class of `mask`, in raster order
  /// of each object's first (top-most, then left-most) pixel.
  public static func trace(_ mask: LabelMask) -> [TracedObject] {
    let (components, pixelCounts, classValues) = labelComponents(mask)
    var rings = [[[MaskCorner]]](repeating: [], count: pixelCounts.count)
    var visited = [Bool](repeating: false, count: mask.width * mask.height)
    let width = mask.width

    // every ring has an edge running in +x along some pixel's top side
    // (object below, other values above); start one trace per such edge
    for y in 0..<mask.height {
      for x in 0..<width {
        let index = y * width + x
        let component = components[index]
        guard component > 0, !visited[index] else { continue }
        if y > 0 && components[index - width] == component { continue }
        let ring = traceRing(
          from: MaskCorner(x: x, y: y), component: component, components: components,
          width: width, height: mask.height, visited: &visited)
        rings[Int(component) - 1].append(ring)
      }
    }

    return rings.enumerated().map { index, objectRings in
      var exterior: [MaskCorner] = []
      var holes: [[MaskCorner]] = []
      for ring in objectRings {
        if signedDoubleArea(ring) > 0 {
          exterior = ring
        } else {
          holes.append(ring)
        }
      }
      return TracedObject(
        classValue: classValues[index], pixelCount: pixelCounts[index], exterior: exterior,
        holes: holes, origin: mask.origin, downsample: mask.downsample)
    }
  }

  /// Twice the signed (shoelace) area of a closed ring, in mask pixels²:
  /// positive for exteriors, negative for holes.
  public static func signedDoubleArea(_ ring: [MaskCorner]) -> Int {
    var sum = 0
    for i in 0..<max(0, ring.count - 1) {
      sum += ring[i].x * ring[i + 1].y - ring[i + 1].x * ring[i].y
    }
    return sum
  }

  // MARK: Components

  /// 4-connected components of equal non-zero value, numbered from 1 in
  /// raster order of their first pixel (0 = background). Returns the label
  /// per pixel, and per component its pixel count and class value.
  static func labelComponents(
    _ mask: LabelMask
  ) -> (labels: [Int32], pixelCounts: [Int], classValues: [UInt8]) {
    let width = mask.width
    let height = mask.height
    var labels = [Int32](repeating: 0, count: width * height)
    var pixelCounts: [Int] = []
    var classValues: [UInt8] = []
    var stack: [Int] = []

    mask.labels.withUnsafeBufferPointer { values in
      labels.withUnsafeMutableBufferPointer { labels in
        for start in 0..<values.count where values[start] != 0 && labels[start] == 0 {
          // flood fill from `start` with an explicit stack
          let value = values[start]
          let component = Int32(pixelCounts.count + 1)
          var count = 0
          labels[start] = component
          stack.append(start)
          while let index = stack.popLast() {
            count += 1
            let x = index % width
            func visit(_ n: Int) {
              if labels[n] == 0 && values[n] == value {
                labels[n] = component
                stack.append(n)
              }
            }
            if x > 0 { visit(index - 1) }
            if x + 1 < width { visit(index + 1) }
            if index >= width { visit(index - width) }
            if index + width < values.count { visit(index + width) }
          }
          pixelCounts.append(count)
          classValues.append(value)
        }
      }
    }
    return (labels, pixelCounts, classValues)
  }

  // MARK: Crack following

  /// Follows one boundary of `component` from corner `start`, first along
  /// the top edge of pixel `start` in +x, keeping the object on the right
  /// on screen (y down), until it returns. Marks the top edges it runs
  /// along in +x as visited. Returns the closed ring of turning corners.
  static func traceRing(
    from start: MaskCorner, component: Int32, components: [Int32], width: Int, height: Int,
    visited: inout [Bool]
  ) -> [MaskCorner] {
    func inside(_ x: Int, _ y: Int) -> Bool {
      x >= 0 && y >= 0 && x < width && y < height && components[y * width + x] == component
    }

    var ring = [start]
    var x = start.x
    var y = start.y
    var dx = 1
    var dy = 0
    repeat {
      if dx == 1 { visited[y * width + x] = true }
      x += dx
      y += dy

      // the object lies on side (rx, ry) of the direction of travel; look
      // at the two pixels ahead of corner (x, y), on that side and the other
      let rx = -dy
      let ry = dx
      let aheadRight = inside(
        x + (dx + rx > 0 ? 0 : -1), y + (dy + ry > 0 ? 0 : -1))
      let aheadLeft = inside(
        x + (dx - rx > 0 ? 0 : -1), y + (dy - ry > 0 ? 0 : -1))

      let (nx, ny): (Int, Int)
      switch (aheadRight, aheadLeft) {
      case (true, false):
        (nx, ny) = (dx, dy)  // straight on
      case (false, false):
        (nx, ny) = (rx, ry)  // around the object's corner
      case (true, true), (false, true):
        // into the object; for (false, true), the object continues
        // diagonally through this corner, so cross it to stay connected
        (nx, ny) = (-rx, -ry)
      }
      if (nx, ny) != (dx, dy) {
        ring.append(MaskCorner(x: x, y: y))
        dx = nx
        dy = ny
      }
    } while !(x == start.x && y == start.y && dx == 1 && dy == 0)

    // the start is a corner (the edge before it is vertical), already first
    if ring.last != start { ring.append(start) }
    return ring
  }
}
