// slide-bench: how fast HoloHisto reads a whole level 0.
//
// Reads level 0 of SLIDE as a grid of REGION×REGION regions (default 4096,
// the last column and row narrower), the same grid and split as
// scripts/bench/peer_read_bench.py: region i goes to thread i % N. Modes:
//   direct-threads   N caller threads, each a serial reader (threads: 1)
//   direct-intra     1 caller; each region's tiles decoded on N threads
//   openslide        N caller threads over OpenSlide (the C library, 3.4)
// Prints a table of seconds and Mpx/s, then one `BENCH_JSON {…}` line.
//
//   swift build -c release --product slide-bench
//   .build/release/slide-bench bench-data/mosaic-40000x30000.tif [--region 4096]
//     [--threads 1,2] [--modes direct-threads,direct-intra,openslide]
import Dispatch
import Foundation
import SlideIO

struct Options {
  var path = ""
  var region = 4096
  var threads = [1, 2]
  var modes = ["direct-threads", "direct-intra", "openslide"]
}

func parse() -> Options {
  var options = Options()
  var args = CommandLine.arguments.dropFirst()
  while let arg = args.popFirst() {
    switch arg {
    case "--region": options.region = Int(args.popFirst() ?? "") ?? options.region
    case "--threads":
      options.threads = (args.popFirst() ?? "").split(separator: ",").compactMap { Int($0) }
    case "--modes":
      options.modes = (args.popFirst() ?? "").split(separator: ",").map(String.init)
    default: options.path = arg
    }
  }
  if options.path.isEmpty {
    let usage = "usage: slide-bench SLIDE [--region N] [--threads 1,2] [--modes …]\n"
    FileHandle.standardError.write(Data(usage.utf8))
    exit(64)
  }
  return options
}

func grid(_ size: PixelSize, _ step: Int) -> [(Level0Point, PixelSize)] {
  var out: [(Level0Point, PixelSize)] = []
  for y in stride(from: 0, to: size.height, by: step) {
    for x in stride(from: 0, to: size.width, by: step) {
      out.append((Level0Point(x: x, y: y),
        PixelSize(width: min(step, size.width - x), height: min(step, size.height - y))))
    }
  }
  return out
}

/// Reads every region; returns wall seconds. `callers` threads, region i
/// on thread i % callers.
func run(_ slide: Slide, regions: [(Level0Point, PixelSize)], callers: Int) throws -> Double {
  let failures = NSLock()
  nonisolated(unsafe) var failure: (any Error)?
  let start = DispatchTime.now()
  DispatchQueue.concurrentPerform(iterations: callers) { worker in
    // One reused buffer per caller, as a tiler would keep.
    var image = RGBImage(width: 0, height: 0)
    for i in stride(from: worker, to: regions.count, by: callers) {
      do {
        let origin = LevelPoint(x: regions[i].0.x, y: regions[i].0.y)
        try slide.readRegion(levelOrigin: origin, level: 0, size: regions[i].1, into: &image)
      } catch {
        failures.lock()
        failure = error
        failures.unlock()
        return
      }
    }
  }
  let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
  if let failure { throw failure }
  return seconds
}

let options = parse()
do {
  let probe = try Slide(path: options.path)
  let size = probe.dimensions
  let regions = grid(size, options.region)
  let megapixels = Double(size.width) * Double(size.height) / 1e6
  print("slide \(options.path): \(size) level 0, \(regions.count) regions of "
    + "\(options.region)², vendor \(probe.properties.vendor)")
  print("| reader | threads | seconds | Mpx/s |")
  print("|---|---|---|---|")
  var results: [[String: Any]] = []
  for mode in options.modes {
    for threads in options.threads {
      let slide: Slide
      let callers: Int
      switch mode {
      case "direct-intra":
        slide = try Slide(path: options.path, threads: threads)
        callers = 1
      case "openslide":
        slide = try Slide(path: options.path, threads: 1, reader: .openSlide)
        callers = threads
      default:
        slide = try Slide(path: options.path, threads: 1)
        callers = threads
      }
      let seconds = try run(slide, regions: regions, callers: callers)
      let rate = megapixels / seconds
      print("| \(mode) | \(threads) | \(String(format: "%.2f", seconds)) | "
        + "\(String(format: "%.0f", rate)) |")
      results.append(["reader": mode, "threads": threads, "seconds": seconds, "mpx_per_s": rate])
    }
  }
  let json = try JSONSerialization.data(
    withJSONObject: ["slide": options.path, "region": options.region, "results": results],
    options: [.sortedKeys])
  print("BENCH_JSON " + String(decoding: json, as: UTF8.self))
} catch {
  FileHandle.standardError.write(Data("slide-bench: \(error)\n".utf8))
  exit(1)
}
