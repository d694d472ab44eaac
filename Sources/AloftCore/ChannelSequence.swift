/// Which sequences a channel's next release may take.
///
/// A device refuses a release at or below the sequence it runs (a replay) and is never offered one at or below the
/// sequence it rolled back from. Usually the channel's newest release is the highest sequence anyone has seen; after a
/// restore from an older backup it is not: devices report releases published after the backup, which the restored
/// database never saw. So the floor is the higher of the two, and a new release goes above it.
public enum ChannelSequence {
    /// The highest sequence a new release must stay above: the channel's newest release, or what a device of the channel
    /// reported running or having rolled back from, whichever is higher (0 when there is neither).
    public static func floor(latestRelease: Int?, highestReported: Int?) -> Int {
        max(latestRelease ?? 0, highestReported ?? 0)
    }

    /// The sequence a publish takes when the publisher does not choose one.
    public static func next(latestRelease: Int?, highestReported: Int?) -> Int {
        floor(latestRelease: latestRelease, highestReported: highestReported) + 1
    }

    /// The highest sequence among what devices reported: the one each runs and the one each rolled back from.
    public static func highestReported(_ devices: some Sequence<(sequence: Int, rejected: Int?)>) -> Int? {
        devices.map { max($0.sequence, $0.rejected ?? 0) }.max()
    }
}
