/// What an update needs on a board's LittleFS beyond what is on it now, from the two releases' file lists: the rule of
/// the agent's pre-flight check (device/aloft/plan.py, folders.py, put.py, merge.py; docs/device.md, "Flash needed by an
/// update"), so the server knows before any device downloads whether a release fits it.
///
/// ``install(from:to:agentOnBoard:)`` is the agent's own figure, to the block: what plan.py compares with `statvfs` once the
/// file list and the plan are on flash. ``atCheckIn(from:to:agentOnBoard:)`` adds those two files and the stage folder,
/// which are not on flash yet when the device reports its free bytes at check-in. What the server cannot see is assumed
/// the way that needs more: no file of the new release is on flash unless the installed release has it, nothing is
/// downloaded yet.
public enum FlashNeed {
    /// LittleFS blocks on every board Aloft supports (ESP32, ESP8266, RP2): 4 KiB.
    public static let blockSize = 4096
    /// Of a file's 4096-byte block, at worst 4088 bytes hold its data (the rest are CTZ skip-list pointers).
    static let blockPayload = 4088
    /// A file this small stays in its folder's metadata: the agent's bound (LittleFS inlines up to 128 bytes on esp32,
    /// 512 on rp2).
    static let inlineBytes = 64
    /// The stage folder, a download between two syncs, LittleFS's copy of a partly filled last block, the state files
    /// and their temporary copies, metadata pair splits (plan.py `_FIXED`).
    static let fixedBlocks = 12
    /// Folder metadata per entry beyond its name, and a staged copy's entry (folders.py `_ENTRY`, `_STAGED`).
    static let entryBytes = 32
    static let stagedEntryBytes = 61
    /// A metadata pair may hold only 1 KiB of entries before LittleFS splits it: 512 bytes a block.
    static let metadataPerBlock = 512
    /// The stage folder (`/.aloft/stage`): a metadata pair.
    static let stageFolderBlocks = 2

    /// Why a device that reported `free` bytes cannot take an update that needs `need`: "needs 590 KB of flash, has 307 KB"
    /// (decimal kilobytes, the need rounded up and the free space down, so the two never read equal).
    public static func shortfall(need: Int, free: Int) -> String {
        "needs \((need + 999) / 1000) KB of flash, has \(free / 1000) KB"
    }

    /// Blocks a file of `size` bytes takes (folders.py `blocks`).
    public static func blocks(_ size: Int) -> Int { (size + blockPayload - 1) / blockPayload }

    /// Bytes of flash the install of `new` over `installed` needs beyond what is on flash, as the agent computes it.
    /// `agentOnBoard`: the agent's files on the board, counted when the release changes the agent (its copy is kept until
    /// the new one is confirmed; of a pack the copy keeps only the header, which stays in the folder's metadata).
    public static func install(from installed: [FileEntry], to new: [FileEntry], agentOnBoard: [FileEntry]) -> Int {
        plan(from: installed, to: new, agentOnBoard: agentOnBoard).need
    }

    /// Bytes the device must report free at check-in to pass the pre-flight check: ``install(from:to:agentOnBoard:)`` and the
    /// files written before the check (the file list, the plan, the stage folder).
    public static func atCheckIn(from installed: [FileEntry], to new: [FileEntry], agentOnBoard: [FileEntry]) -> Int {
        let plan = plan(from: installed, to: new, agentOnBoard: agentOnBoard)
        let list = FileList.encode(new).utf8.count
        return plan.need + (stageFileBlocks(list) + stageFileBlocks(plan.planBytes) + stageFolderBlocks) * blockSize
    }

    static func stageFileBlocks(_ size: Int) -> Int { size <= inlineBytes ? 0 : blocks(size) }

    /// Every folder the files' paths go through (`lib/app/x.py`: `lib`, `lib/app`).
    static func folders(of files: [FileEntry]) -> Set<String> {
        var folders = Set<String>()
        for file in files {
            var path = Substring(file.path)
            while let slash = path.lastIndex(of: "/") {
                path = path[..<slash]
                if !folders.insert(String(path)).inserted { break }
            }
        }
        return folders
    }

    /// The merge of plan.py (merge.py) over two sorted lists, counting what folders.Walk counts, and the size of the plan
    /// file it writes.
    ///
    /// The agent's files are not the installed release's (lists.py skips them) but the board's, `agentOnBoard`, as merge.py
    /// compares them: a new release's agent file is unchanged when the board has it with the same size and SHA-256, and
    /// otherwise replaces the file of that name on the board, if there is one. The board's agent files the new release no
    /// longer has are removed, which changes the agent too.
    static func plan(from installed: [FileEntry], to new: [FileEntry], agentOnBoard: [FileEntry]) -> (need: Int, planBytes: Int) {
        let agent = ReleasePath.agentFolder + "/"
        // Folders on flash when the plan is made: those of the installed release's files, and the agent's.
        var folders = Self.folders(of: installed)
        folders.formUnion(["lib", ReleasePath.agentFolder])
        var blocks = 0, meta = 0, planBytes = 0
        var touched = false
        var last = ""  // the previous put

        func put(_ entry: FileEntry, replaces: Bool) {
            let p = Array(entry.path.unicodeScalars)
            let previous = Array(last.unicodeScalars)
            var common = 0
            while common < previous.count, common < p.count, previous[common] == p[common] { common += 1 }
            // The folders p shares with the previous put were judged then (put.py): from the last "/" within the common part.
            var i = (p[..<min(common + 1, p.count)].lastIndex(of: "/") ?? -1) + 1
            while let slash = p[i...].firstIndex(of: "/") {
                if !folders.contains(String(String.UnicodeScalarView(p[..<slash]))) {
                    // This folder and the ones below it are new: a pair of blocks each (a dropped file of that name goes first).
                    blocks += 2 * p[slash...].filter { $0 == "/" }.count
                    break
                }
                i = slash + 1
            }
            last = entry.path
            planBytes += "p \(entry.sha256) \(entry.size) \(replaces ? 1 : 0) /".utf8.count + entry.path.utf8.count + 1
            touched = touched || entry.path.hasPrefix(agent)
            // The staged copy's entry, the entry at the path (path#new, then the path) and path#old beside it.
            let name = p.count - (p.lastIndex(of: "/") ?? -1)  // the basename and its "/"
            meta += stagedEntryBytes + (name + entryBytes) * (replaces ? 2 : 1)
            if entry.size <= inlineBytes {
                meta += 3 * entry.size
            } else {
                blocks += Self.blocks(entry.size)
            }
        }

        let onBoard = Dictionary(agentOnBoard.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        let carriesAgent = new.contains { $0.path.hasPrefix(agent) }
        var a = installed.lazy.filter { !$0.path.hasPrefix(agent) }.makeIterator()
        var b = new.makeIterator()
        var old = a.next(), next = b.next()
        while old != nil || next != nil {
            // Bytewise path order, as the lists are sorted: only in the installed release, only in the new one, or in both.
            let onlyOld = next == nil || old.map { $0.path != next!.path && $0.path.utf8.lexicographicallyPrecedes(next!.path.utf8) } == true
            let onlyNew = !onlyOld && (old == nil || old!.path != next!.path)
            if onlyOld, let o = old {
                // Set aside until the new release is confirmed.
                planBytes += "d /".utf8.count + o.path.utf8.count + 1
                old = a.next()
            } else if onlyNew, let n = next {
                // A file no release put there is assumed absent; an agent file replaces the board's file of that name if
                // there is one (its module in the other form, .mpy files or a pack, is not), unless unchanged.
                let isAgent = n.path.hasPrefix(agent)
                let board = isAgent ? onBoard[n.path] : nil
                if board.map({ $0.sha256 != n.sha256 || $0.size != n.size }) ?? true { put(n, replaces: board != nil) }
                next = b.next()
            } else if let o = old, let n = next {
                if o.sha256 != n.sha256 || o.size != n.size { put(n, replaces: true) }
                old = a.next()
                next = b.next()
            }
        }
        // A folder that holds none of the new release's files goes aside whole (dirs.py), unless files no release put
        // there are in it: the agent's folder and the folders above it.
        let keep = Self.folders(of: new)
        for folder in folders where !keep.contains(folder) && !agent.hasPrefix(folder + "/") {
            planBytes += "m /".utf8.count + folder.utf8.count + 1
        }
        if carriesAgent {  // the agent's modules the new one no longer has go
            let kept = Set(new.map(\.path))
            for file in onBoard.keys.sorted() where !kept.contains(file) {
                planBytes += "d /".utf8.count + file.utf8.count + 1
                touched = true
            }
        }
        var total = fixedBlocks + blocks + (meta + metadataPerBlock - 1) / metadataPerBlock
        if touched {  // the copy of the agent kept until the new one is confirmed (previous.py)
            total += 2 + agentOnBoard.filter { $0.path != ReleasePath.agentPackFile }.reduce(0) { $0 + max(Self.blocks($1.size), 1) }
        }
        return (total * blockSize, planBytes)
    }
}
