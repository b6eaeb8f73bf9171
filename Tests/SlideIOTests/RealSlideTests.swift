import Foundation
import XCTest

@testable import SlideIO

/// Real slides against values openslide-python, tifffile and Pillow return
/// for the same files (Fixtures/slide_reference.json).
final class RealSlideTests: XCTestCase {
  func rgb(_ any: Any) -> [UInt8] { (any as! [Int]).map(UInt8.init) }

  func testCMUPropertiesMatchOpenSlide() throws {
    let slide = try Slide(path: Fixture.data("wsi/CMU-1-Small-Region.svs"))
    let p = slide.properties
    XCTAssertEqual(p.vendor, "aperio")
    XCTAssertEqual(slide.dimensions, PixelSize(width: 2220, height: 2967))
    XCTAssertEqual(slide.levelCount, 1)
    XCTAssertEqual(p.levels[0].downsample, 1.0)
    XCTAssertEqual(p.mppX!, 0.499, accuracy: 1e-9)
    XCTAssertEqual(p.mppY!, 0.499, accuracy: 1e-9)
    XCTAssertEqual(p.objectivePower, 20)
    XCTAssertEqual(Set(p.associatedImages), ["label", "macro", "thumbnail"])
    // The direct libtiff reader decodes the pixels; OpenSlide only the metadata.
    XCTAssertTrue(slide.backend is TIFFReader)
  }

  func testCMUPixelsEqualOpenSlide() throws {
    let slide = try Slide(path: Fixture.data("wsi/CMU-1-Small-Region.svs"))
    let cmu = Fixture.object("slides", "cmu")

    for entry in cmu["pixels_level0"] as! [[String: Any]] {
      let x = entry["x"] as! Int
      let y = entry["y"] as! Int
      let image = try slide.readRegion(
        origin: Level0Point(x: x, y: y), level: 0, size: PixelSize(width: 1, height: 1))
      XCTAssertEqual(image.pixels, rgb(entry["rgb"]!), "pixel (\(x), \(y))")
    }

    let block = cmu["block16"] as! [String: Any]
    let image = try slide.readRegion(
      origin: Level0Point(x: block["x"] as! Int, y: block["y"] as! Int), level: 0,
      size: PixelSize(width: 16, height: 16))
    XCTAssertEqual(image.pixels, rgb(block["rgb_row_major"]!))

    for region in cmu["region_md5"] as! [[String: Any]] {
      let read = try slide.readRegion(
        origin: Level0Point(x: region["x"] as! Int, y: region["y"] as! Int), level: 0,
        size: PixelSize(width: region["width"] as! Int, height: region["height"] as! Int))
      XCTAssertEqual(md5Hex(read.pixels), region["md5_rgb"] as! String, "\(region)")
    }

    let whole = try slide.readLevel(0)
    XCTAssertEqual(md5Hex(whole.pixels), cmu["level0_md5_rgb"] as! String)
  }

  func testCMUReadsOutsideTheSlideAreWhite() throws {
    let slide = try Slide(path: Fixture.data("wsi/CMU-1-Small-Region.svs"))
    let image = try slide.readRegion(
      origin: Level0Point(x: 2218, y: 2965), level: 0, size: PixelSize(width: 4, height: 4))
    let edge = try slide.readRegion(
      origin: Level0Point(x: 2218, y: 2965), level: 0, size: PixelSize(width: 2, height: 2))
    for y in 0..<4 {
      for x in 0..<4 {
        let pixel = image[x, y]
        if x < 2 && y < 2 {
          XCTAssertTrue(pixel == edge[x, y], "inside pixel (\(x), \(y))")
        } else {
          XCTAssertTrue(pixel == (255, 255, 255), "outside pixel (\(x), \(y)) is \(pixel)")
        }
      }
    }
    let before = try slide.readRegion(
      origin: Level0Point(x: -2, y: -2), level: 0, size: PixelSize(width: 4, height: 4))
    let corner = try slide.readRegion(
      origin: Level0Point(x: 0, y: 0), level: 0, size: PixelSize(width: 2, height: 2))
    XCTAssertTrue(before[0, 0] == (255, 255, 255))
    XCTAssertTrue(before[2, 2] == corner[0, 0])
    XCTAssertTrue(before[3, 3] == corner[1, 1])
  }

  func testCMUAssociatedImages() throws {
    let slide = try Slide(path: Fixture.data("wsi/CMU-1-Small-Region.svs"))
    let cmu = Fixture.object("slides", "cmu")
    let sizes = cmu["associated_images"] as! [String: [Int]]
    let first = cmu["associated_first_pixel_rgb"] as! [String: [Int]]
    for (name, size) in sizes {
      let image = try slide.readAssociatedImage(name)
      XCTAssertEqual(image.size, PixelSize(width: size[0], height: size[1]), name)
      XCTAssertEqual(Array(image.pixels.prefix(3)), first[name]!.map(UInt8.init), name)
    }
    XCTAssertThrowsError(try slide.readAssociatedImage("overview")) { error in
      XCTAssertEqual(
        (error as! SlideError).description,
        "\(slide.path): no associated image named 'overview' "
          + "(available: label, macro, thumbnail).")
    }
  }

  func testBRACSLevelsAndPixels() throws {
    let slide = try Slide(path: Fixture.data("wsi/BRACS_1640_N_3_cropped.tiff"))
    XCTAssertEqual(slide.properties.vendor, "generic-tiff")
    XCTAssertEqual(
      slide.properties.levels.map(\.size),
      [PixelSize(width: 650, height: 743), PixelSize(width: 325, height: 371),
        PixelSize(width: 162, height: 185)])
    let bracs = Fixture.object("slides", "bracs")
    let downsamples = bracs["level_downsamples"] as! [Double]
    for (level, expected) in downsamples.enumerated() {
      XCTAssertEqual(try slide.downsample(level: level), expected, accuracy: 1e-9)
    }
    // The resolution tag says 10 px/cm (1000 µm/px): reported as unknown.
    XCTAssertEqual(bracs["mpp_x"] as! Double, 1000)
    XCTAssertNil(slide.properties.mppX)
    XCTAssertNil(slide.properties.mpp)

    for entry in bracs["levels"] as! [[String: Any]] {
      let level = entry["level"] as! Int
      let whole = try slide.readLevel(level)
      XCTAssertEqual(md5Hex(whole.pixels), entry["md5_rgb"] as! String, "level \(level)")
      for pixel in entry["pixels_level_coords"] as! [[String: Any]] {
        let x = pixel["x"] as! Int
        let y = pixel["y"] as! Int
        let got = whole[x, y]
        XCTAssertEqual([got.r, got.g, got.b], rgb(pixel["rgb"]!), "level \(level) (\(x), \(y))")
      }
    }
  }

  func testBRACSLevel2InTwoHalvesEqualsWhole() throws {
    let slide = try Slide(path: Fixture.data("wsi/BRACS_1640_N_3_cropped.tiff"))
    let size = try slide.size(level: 2)
    let whole = try slide.readLevel(2)
    let top = size.height / 2
    let upper = try slide.readRegion(
      levelOrigin: LevelPoint(x: 0, y: 0), level: 2,
      size: PixelSize(width: size.width, height: top))
    let lower = try slide.readRegion(
      levelOrigin: LevelPoint(x: 0, y: top), level: 2,
      size: PixelSize(width: size.width, height: size.height - top))
    XCTAssertEqual(upper.pixels + lower.pixels, whole.pixels)

    // The same halves addressed by level-0 origins (OpenSlide's convention).
    let downsample = try slide.downsample(level: 2)
    let y0 = Int((Double(top) * downsample).rounded(.up))
    XCTAssertEqual(LevelPoint(Level0Point(x: 0, y: y0), downsample: downsample).y, top)
    let lower0 = try slide.readRegion(
      origin: Level0Point(x: 0, y: y0), level: 2,
      size: PixelSize(width: size.width, height: size.height - top))
    XCTAssertEqual(lower0.pixels, lower.pixels)
  }

  func testOMEAndPNGTilesEqualTifffileAndPillow() throws {
    let tiles = Fixture.object("tiles")
    let expectedMPP = ["OS-1-detail.ome.tif": 0.2271, "OS-2-ndpi.ome.tif": 0.2271,
      "OS-2-vsi.ome.tif": 0.3461]
    for (name, value) in tiles {
      let entry = value as! [String: Any]
      let slide = try Slide(path: Fixture.data("tiles/\(name)"))
      XCTAssertEqual(
        slide.dimensions,
        PixelSize(width: entry["width"] as! Int, height: entry["height"] as! Int), name)
      XCTAssertEqual(slide.properties.vendor, name.hasSuffix(".png") ? "png" : "ome-tiff")
      if let mpp = expectedMPP[name] {
        XCTAssertEqual(slide.properties.mppX!, mpp, accuracy: 1e-4, name)
      }
      let whole = try slide.readLevel(0)
      XCTAssertEqual(md5Hex(whole.pixels), entry["md5_rgb"] as! String, name)
      for pixel in entry["pixels"] as! [[String: Any]] {
        let got = whole[pixel["x"] as! Int, pixel["y"] as! Int]
        XCTAssertEqual([got.r, got.g, got.b], rgb(pixel["rgb"]!), "\(name) \(pixel)")
      }
    }
  }

  func testJPEGTileIsASingleLevelSlide() throws {
    // Values from Pillow 13 (libjpeg-turbo) on the same file.
    let path = Fixture.data("labeled/hubmap-glomeruli-cnsiu/images/test/47.jpg")
    let slide = try Slide(path: path)
    XCTAssertEqual(slide.properties.vendor, "jpeg")
    XCTAssertEqual(slide.dimensions, PixelSize(width: 1600, height: 1200))
    let image = try slide.readLevel(0)
    XCTAssertTrue(image[0, 0] == (174, 143, 177))
    XCTAssertTrue(image[800, 600] == (175, 128, 183))
    XCTAssertTrue(image[1599, 1199] == (131, 28, 137))
  }
}
