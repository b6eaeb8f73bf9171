import Foundation

/// A cohort to segment: a CSV file with one slide per row.
///
/// Columns (a header row names them, in any order; others are ignored):
/// - `slide` (required): the slide's path, relative paths taken from the
///   manifest's folder;
/// - `output` (optional): the label TIFF to write, relative to the output
///   folder; empty or absent means `<slide file name without extension>.tif`;
/// - `downsample` (optional): level-0 pixels per model pixel for slides
///   without a known µm/px; empty means "from the slide's µm/px".
///
/// Fields may be double-quoted (a quote inside is written twice). Blank
/// lines are skipped; `#` starts a comment line.
public struct SlideManifest: Sendable, Equatable {
  /// One row: what to segment and where the mask goes.
  public struct Entry: Sendable, Equatable {
    /// The row's 1-based line number in the file, for messages.
    public var line: Int
    public var slide: String
    public var output: String
    public var downsample: Double?
  }

  public let path: String
  public let entries: [Entry]

  /// Reads and checks a manifest.
  /// - Parameter outputFolder: where masks without a folder in `output` go.
  /// - Throws: ``InferenceError/badManifest(path:line:detail:)`` naming the
  ///   line: no header, no `slide` column, an empty slide, a downsample that
  ///   is not a positive number, two rows writing the same mask.
  public static func load(path: String, outputFolder: String) throws -> SlideManifest {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
      throw InferenceError.badManifest(path: path, line: 0, detail: "does not exist")
    }
    guard !isFolder.boolValue else {
      throw InferenceError.badManifest(path: path, line: 0, detail: "is a folder, not a CSV file")
    }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw InferenceError.badManifest(
        path: path, line: 0, detail: "cannot be read (\(String(cString: strerror(errno))))")
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw InferenceError.badManifest(path: path, line: 0, detail: "is not UTF-8 text")
    }
    let folder = (path as NSString).deletingLastPathComponent
    func resolve(_ p: String, in base: String) -> String {
      p.hasPrefix("/") || base.isEmpty ? p : (base as NSString).appendingPathComponent(p)
    }

    var header: [String]?
    var entries: [Entry] = []
    var outputs: [String: Int] = [:]
    // "\r\n" is one Character in Swift, so normalise line ends first.
    let lines = text.replacingOccurrences(of: "\r\n", with: "\n")
      .split(separator: "\n", omittingEmptySubsequences: false)
    for (index, raw) in lines.enumerated() {
      let line = index + 1
      let content = String(raw)
      if content.trimmingCharacters(in: .whitespaces).isEmpty || content.hasPrefix("#") {
        continue
      }
      let fields = try split(content, path: path, line: line)
      guard let columns = header else {
        header = fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard header!.contains("slide") else {
          throw InferenceError.badManifest(
            path: path, line: line,
            detail: "the header has no 'slide' column (found: \(fields.joined(separator: ", ")))")
        }
        continue
      }
      func field(_ name: String) -> String {
        guard let i = columns.firstIndex(of: name), i < fields.count else { return "" }
        return fields[i].trimmingCharacters(in: .whitespaces)
      }

      let slide = field("slide")
      guard !slide.isEmpty else {
        throw InferenceError.badManifest(path: path, line: line, detail: "the slide is empty")
      }
      var downsample: Double?
      let d = field("downsample")
      if !d.isEmpty {
        guard let value = Double(d), value > 0, value <= 1024 else {
          throw InferenceError.badManifest(
            path: path, line: line, detail: "downsample '\(d)' is not a number in (0, 1024]")
        }
        downsample = value
      }
      var output = field("output")
      if output.isEmpty {
        let name = ((slide as NSString).lastPathComponent as NSString).deletingPathExtension
        output = name + ".tif"
      }
      output = resolve(output, in: outputFolder)
      if let earlier = outputs[output] {
        throw InferenceError.badManifest(
          path: path, line: line,
          detail: "writes \(output), as line \(earlier) does; give one of them an 'output'")
      }
      outputs[output] = line
      entries.append(
        Entry(line: line, slide: resolve(slide, in: folder), output: output,
          downsample: downsample))
    }
    guard header != nil else {
      throw InferenceError.badManifest(path: path, line: 0, detail: "is empty (no header row)")
    }
    return SlideManifest(path: path, entries: entries)
  }

  /// The rows of shard `shard`: every `count`-th entry starting at `index`
  /// (round-robin, so shards get similar numbers of slides).
  public func entries(of shard: Shard) -> [Entry] {
    entries.enumerated().filter { $0.offset % shard.count == shard.index }.map(\.element)
  }

  /// Splits one CSV line into fields.
  static func split(_ line: String, path: String, line number: Int) throws -> [String] {
    var fields: [String] = []
    var field = ""
    var quoted = false
    var characters = Array(line)[...]
    while let c = characters.popFirst() {
      if quoted {
        if c == "\"" {
          if characters.first == "\"" {
            field.append("\"")
            characters.removeFirst()
          } else {
            quoted = false
          }
        } else {
          field.append(c)
        }
      } else if c == "\"" && field.trimmingCharacters(in: .whitespaces).isEmpty {
        field = ""
        quoted = true
      } else if c == "," {
        fields.append(field)
        field = ""
      } else {
        field.append(c)
      }
    }
    guard !quoted else {
      throw InferenceError.badManifest(path: path, line: number, detail: "a quote is not closed")
    }
    fields.append(field)
    return fields
  }
}

/// One part of a cohort split across machines: entries `index`, `index +
/// count`, … (0-based `index`).
public struct Shard: Sendable, Equatable {
  public var index: Int
  public var count: Int

  public init(index: Int, count: Int) {
    self.index = index
    self.count = count
  }

  /// Parses `i/N` with 0 ≤ i < N; `nil` when malformed.
  public init?(_ text: String) {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 0,
      i < n
    else { return nil }
    self.init(index: i, count: n)
  }

  /// The shard of a Slurm job array task, numbered from the array's first
  /// task: `(SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN) /
  /// SLURM_ARRAY_TASK_STEP` of `SLURM_ARRAY_TASK_COUNT` (so `--array=1-4`,
  /// `0-3` and `0-6:2` all give shards 0…3 of 4). `nil` outside a job
  /// array (no `SLURM_ARRAY_TASK_ID`).
  /// - Throws: ``InferenceError/invalidSetting(name:value:expected:)`` when
  ///   the variables do not describe this task's place in the array, so a
  ///   task never falls back to the whole cohort.
  public static func slurm(_ environment: [String: String]) throws -> Shard? {
    guard let idText = environment["SLURM_ARRAY_TASK_ID"] else { return nil }
    let shown = ["ID", "MIN", "STEP", "COUNT"].map {
      "SLURM_ARRAY_TASK_\($0)=\(environment["SLURM_ARRAY_TASK_\($0)"] ?? "unset")"
    }.joined(separator: " ")
    func fail() -> InferenceError {
      InferenceError.invalidSetting(
        name: "the Slurm array", value: shown,
        expected: "ID = MIN + k·STEP with 0 ≤ k < COUNT (or give --shard I/N)")
    }
    guard let id = Int(idText),
      let count = environment["SLURM_ARRAY_TASK_COUNT"].flatMap(Int.init), count >= 1
    else { throw fail() }
    let minimum = environment["SLURM_ARRAY_TASK_MIN"].flatMap(Int.init) ?? 0
    let step = environment["SLURM_ARRAY_TASK_STEP"].flatMap(Int.init) ?? 1
    guard step >= 1, id >= minimum, (id - minimum) % step == 0 else { throw fail() }
    let index = (id - minimum) / step
    guard index < count else { throw fail() }
    return Shard(index: index, count: count)
  }
}
