import Foundation

exit(HoloHisto.main(Array(CommandLine.arguments.dropFirst())))
