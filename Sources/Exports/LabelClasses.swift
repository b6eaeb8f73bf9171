/// An 8-bit sRGB colour.
public struct LabelColor: Hashable, Sendable {
  public var red: UInt8
  public var green: UInt8
  public var blue: UInt8

  public init(red: UInt8, green: UInt8, blue: UInt8) {
    self.red = red
    self.green = green
    self.blue = blue
  }
}

/// One class of a label mask: the stored value, a name and a display colour.
public struct LabelClass: Hashable, Sendable {
  /// The value stored in the mask for this class (1…255; 0 is background).
  public var value: UInt8
  /// The name written to GeoJSON (`classification.name`) and TIFF metadata.
  public var name: String
  /// The colour viewers show (TIFF colour map, GeoJSON, overlays).
  public var color: LabelColor

  public init(value: UInt8, name: String, color: LabelColor) {
    self.value = value
    self.name = name
    self.color = color
  }
}

/// The classes of a label mask, and the names and colours of values not
/// listed.
///
/// Value scheme (the same in every export): a mask pixel stores its class
/// value `k` directly, 0 is background, 1…255 are classes. Values with no
/// entry get the name "Class k" and a colour from a fixed 10-colour cycle,
/// so every value is visible and named even when the caller lists none.
public struct LabelClasses: Sendable, Equatable {
  /// Listed classes, by value.
  public private(set) var classes: [UInt8: LabelClass]

  /// - Parameter classes: at most one entry per value; later entries win.
  ///   An entry for value 0 names and colours the background.
  public init(_ classes: [LabelClass] = []) {
    var byValue: [UInt8: LabelClass] = [:]
    for entry in classes { byValue[entry.value] = entry }
    self.classes = byValue
  }

  /// Distinct, saturated colours for unlisted values 1, 2, 3, … (cycled).
  static let cycle: [LabelColor] = [
    LabelColor(red: 0, green: 200, blue: 83),
    LabelColor(red: 255, green: 64, blue: 64),
    LabelColor(red: 41, green: 121, blue: 255),
    LabelColor(red: 255, green: 196, blue: 0),
    LabelColor(red: 213, green: 0, blue: 249),
    LabelColor(red: 0, green: 229, blue: 255),
    LabelColor(red: 255, green: 109, blue: 0),
    LabelColor(red: 118, green: 255, blue: 3),
    LabelColor(red: 245, green: 0, blue: 87),
    LabelColor(red: 141, green: 110, blue: 99),
  ]

  /// The class for `value`, listed or made up as described above.
  public subscript(value: UInt8) -> LabelClass {
    if let listed = classes[value] { return listed }
    if value == 0 {
      return LabelClass(
        value: 0, name: "Background", color: LabelColor(red: 0, green: 0, blue: 0))
    }
    let color = Self.cycle[(Int(value) - 1) % Self.cycle.count]
    return LabelClass(value: value, name: "Class \(value)", color: color)
  }
}
