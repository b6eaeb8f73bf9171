import Foundation

let status = HoloHisto.main(Array(CommandLine.arguments.dropFirst()))
if !Console.flushOutput() {
  Console.error("holohisto: standard output: write failed (\(String(cString: strerror(errno)))).")
  exit(status == 0 ? 1 : status)
}
exit(status)
