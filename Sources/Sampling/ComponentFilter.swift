/// Connected-component clean-up of a binary grid: drops small specks of one
/// value by turning them into the other.
///
/// Grid layout: row-major, no padding, cell (x, y) at `y * width + x`.
enum ComponentFilter {
  /// Which neighbours join cells into one component.
  enum Connectivity {
    /// Edge neighbours only (up, down, left, right).
    case four
    /// Edge and corner neighbours.
    case eight
  }

  /// Flips every component of cells equal to `value` that has fewer than
  /// `minimumCount` cells, except, when `sparingBorder` is set, components
  /// that touch the grid's border.
  ///
  /// Used twice by the tissue detector: tissue specks (`value` true,
  /// 8-connected) become background, and background holes (`value` false,
  /// 4-connected, the dual of 8-connected objects, sparing the border)
  /// become tissue. Sparing the border departs from scikit-image's
  /// `remove_small_holes`, which fills border regions too: glass at the edge
  /// of a small image is not a hole, and without the rule an image whose
  /// whole background is under the limit would become all tissue.
  ///
  /// - Complexity: O(width × height); an explicit stack, no recursion, so
  ///   one component may span the whole grid.
  static func removeSmallComponents(
    of value: Bool, in grid: inout [Bool], width: Int, height: Int,
    minimumCount: Int, connectivity: Connectivity, sparingBorder: Bool = false
  ) {
    precondition(grid.count == width * height, "grid is not \(width)×\(height)")
    guard minimumCount > 1 else { return }

    let offsets: [(Int, Int)] =
      switch connectivity {
      case .four: [(1, 0), (-1, 0), (0, 1), (0, -1)]
      case .eight:
        [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)]
      }
    var visited = [Bool](repeating: false, count: grid.count)
    var component: [Int] = []  // cells of the component being grown
    var stack: [Int] = []

    for start in grid.indices where grid[start] == value && !visited[start] {
      // grow the component from `start` (depth-first)
      component.removeAll(keepingCapacity: true)
      var touchesBorder = false
      visited[start] = true
      stack.append(start)
      while let cell = stack.popLast() {
        component.append(cell)
        let x = cell % width
        let y = cell / width
        if x == 0 || y == 0 || x == width - 1 || y == height - 1 {
          touchesBorder = true
        }
        for (dx, dy) in offsets {
          let nx = x + dx
          let ny = y + dy
          guard nx >= 0, nx < width, ny >= 0, ny < height else { continue }
          let neighbour = ny * width + nx
          if grid[neighbour] == value && !visited[neighbour] {
            visited[neighbour] = true
            stack.append(neighbour)
          }
        }
      }

      if component.count < minimumCount && !(sparingBorder && touchesBorder) {
        for cell in component { grid[cell] = !value }
      }
    }
  }
}
