import XCTest

@testable import Sampling

final class ComponentFilterTests: XCTestCase {
  /// A grid from rows of "#" (true) and "." (false).
  func grid(_ rows: [String]) -> [Bool] {
    rows.flatMap { row in row.map { $0 == "#" } }
  }

  func testSmallObjectsGoAndLargeOnesStay() {
    var cells = grid([
      "#.....",
      "...###",
      "...###",
      "......",
    ])
    ComponentFilter.removeSmallComponents(
      of: true, in: &cells, width: 6, height: 4, minimumCount: 2,
      connectivity: .eight)
    XCTAssertEqual(cells, grid(["......", "...###", "...###", "......"]))
  }

  func testDiagonalCellsJoinOnlyWithEightConnectivity() {
    let diagonal = grid(["#..", ".#.", "..#"])
    var eight = diagonal
    ComponentFilter.removeSmallComponents(
      of: true, in: &eight, width: 3, height: 3, minimumCount: 3,
      connectivity: .eight)
    XCTAssertEqual(eight, diagonal, "one 3-cell component survives")
    var four = diagonal
    ComponentFilter.removeSmallComponents(
      of: true, in: &four, width: 3, height: 3, minimumCount: 3,
      connectivity: .four)
    XCTAssertEqual(
      four, grid(["...", "...", "..."]), "three 1-cell components go")
  }

  func testSmallHolesAreFilled() {
    var cells = grid([
      "#####.",
      "#.####",
      "######",
      "##..##",
      "##..##",
    ])
    // background of 1 cell (inside), 1 cell (top-right corner) and 4 cells
    // (touching the bottom edge)
    var all = cells
    ComponentFilter.removeSmallComponents(
      of: false, in: &all, width: 6, height: 5, minimumCount: 2,
      connectivity: .four)
    XCTAssertEqual(
      all, grid(["######", "######", "######", "##..##", "##..##"]))
    ComponentFilter.removeSmallComponents(
      of: false, in: &cells, width: 6, height: 5, minimumCount: 5,
      connectivity: .four,
      sparingBorder: true)
    XCTAssertEqual(
      cells, grid(["#####.", "######", "######", "##..##", "##..##"]))
  }

  func testOneComponentCoveringTheGrid() {
    var cells = [Bool](repeating: true, count: 500 * 400)
    ComponentFilter.removeSmallComponents(
      of: true, in: &cells, width: 500, height: 400, minimumCount: 200_001,
      connectivity: .eight)
    XCTAssertFalse(cells.contains(true), "200,000 cells < 200,001: removed")
  }
}
