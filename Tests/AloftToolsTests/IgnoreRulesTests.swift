import AloftTools
import Testing

/// The glob of one anchored rule, so `**` and `*` keep git's `WM_PATHNAME` meaning across slashes.
private func globMatches(_ pattern: String, _ text: String) -> Bool {
    // "/" + pattern: anchored, so the whole path is matched (a leading "/" is dropped, as git does).
    let rules = IgnoreRules(parsing: "/" + pattern)
    guard let rule = rules.rules.first else { return text.isEmpty && pattern.isEmpty }
    return rule.matches(text, isDirectory: false)
}

@Suite struct IgnoreGlobTests {
    /// git's t/t3070-wildmatch.sh, the case-sensitive `wildmatch` column (WM_PATHNAME): text, pattern, match.
    /// Cases whose pattern starts with `/`, `!` or `#`, or ends with `/`, mean something else in an ignore file
    /// and are left out; so are those with an empty pattern.
    static let wildmatch: [(String, String, Bool)] = [
        // Basic wildmatch features
        ("foo", "foo", true), ("foo", "bar", false), ("foo", "???", true), ("foo", "??", false), ("foo", "*", true),
        ("foo", "f*", true), ("foo", "*f", false), ("foo", "*foo*", true), ("foobar", "*ob*a*r*", true),
        ("aaaaaaabababab", "*ab", true), ("foo*", #"foo\*"#, true), ("foobar", #"foo\*bar"#, false), (#"f\oo"#, #"f\\oo"#, true),
        ("ball", "*[al]?", true), ("ten", "[ten]", false), ("ten", "**[!te]", true), ("ten", "**[!ten]", false),
        ("ten", "t[a-g]n", true), ("ten", "t[!a-g]n", false), ("ton", "t[!a-g]n", true), ("ton", "t[^a-g]n", true),
        ("a]b", "a[]]b", true), ("a-b", "a[]-]b", true), ("a]b", "a[]-]b", true), ("aab", "a[]-]b", false),
        ("aab", "a[]a-]b", true), ("]", "]", true),
        // Extended slash-matching features
        ("foo/baz/bar", "foo*bar", false), ("foo/baz/bar", "foo**bar", false), ("foobazbar", "foo**bar", true),
        ("foo/baz/bar", "foo/**/bar", true), ("foo/baz/bar", "foo/**/**/bar", true), ("foo/b/a/z/bar", "foo/**/bar", true),
        ("foo/b/a/z/bar", "foo/**/**/bar", true), ("foo/bar", "foo/**/bar", true), ("foo/bar", "foo/**/**/bar", true),
        ("foo/bar", "foo?bar", false), ("foo/bar", "foo[/]bar", false), ("foo/bar", "foo[^a-z]bar", false),
        ("foo/bar", "f[^eiu][^eiu][^eiu][^eiu][^eiu]r", false), ("foo-bar", "f[^eiu][^eiu][^eiu][^eiu][^eiu]r", true),
        ("foo", "**/foo", true), ("XXX/foo", "**/foo", true), ("bar/baz/foo", "**/foo", true), ("bar/baz/foo", "*/foo", false),
        ("foo/bar/baz", "**/bar*", false), ("deep/foo/bar/baz", "**/bar/*", true), ("deep/foo/bar/baz/", "**/bar/*", false),
        ("deep/foo/bar/baz/", "**/bar/**", true), ("deep/foo/bar", "**/bar/*", false), ("deep/foo/bar/", "**/bar/**", true),
        ("foo/bar/baz", "**/bar**", false), ("foo/bar/baz/x", "*/bar/**", true), ("deep/foo/bar/baz/x", "*/bar/**", false),
        ("deep/foo/bar/baz/x", "**/bar/*/*", true),
        // Various additional tests
        ("acrt", "a[c-c]st", false), ("acrt", "a[c-c]rt", true), ("]", "[!]-]", false), ("a", "[!]-]", true),
        ("", #"\"#, false), (#"\"#, #"\"#, false), (#"XXX/\"#, #"*/\"#, false), (#"XXX/\"#, #"*/\\"#, true),
        ("foo", "foo", true), ("@foo", "@foo", true), ("foo", "@foo", false), ("[ab]", #"\[ab]"#, true), ("[ab]", "[[]ab]", true),
        ("[ab]", "[[:]ab]", true), ("[ab]", "[[::]ab]", false), ("[ab]", "[[:digit]ab]", true), ("[ab]", #"[\[:]ab]"#, true),
        ("?a?b", #"\??\?b"#, true), ("abc", #"\a\b\c"#, true), ("foo/bar/baz/to", "**/t[o]", true),
        // Character class tests
        ("a1B", "[[:alpha:]][[:digit:]][[:upper:]]", true), ("a", "[[:digit:][:upper:][:space:]]", false),
        ("A", "[[:digit:][:upper:][:space:]]", true), ("1", "[[:digit:][:upper:][:space:]]", true),
        ("1", "[[:digit:][:upper:][:spaci:]]", false), (" ", "[[:digit:][:upper:][:space:]]", true),
        (".", "[[:digit:][:upper:][:space:]]", false), (".", "[[:digit:][:punct:][:space:]]", true), ("5", "[[:xdigit:]]", true),
        ("f", "[[:xdigit:]]", true), ("D", "[[:xdigit:]]", true),
        ("_", "[[:alnum:][:alpha:][:blank:][:cntrl:][:digit:][:graph:][:lower:][:print:][:punct:][:space:][:upper:][:xdigit:]]", true),
        (".", "[^[:alnum:][:alpha:][:blank:][:cntrl:][:digit:][:lower:][:space:][:upper:][:xdigit:]]", true),
        ("5", "[a-c[:digit:]x-z]", true), ("b", "[a-c[:digit:]x-z]", true), ("y", "[a-c[:digit:]x-z]", true),
        ("q", "[a-c[:digit:]x-z]", false),
        // Additional tests, including some malformed wildmatch patterns
        ("]", #"[\\-^]"#, true), ("[", #"[\\-^]"#, false), ("-", #"[\-_]"#, true), ("]", #"[\]]"#, true), (#"\]"#, #"[\]]"#, false),
        (#"\"#, #"[\]]"#, false), ("ab", "a[]b", false), ("a[]b", "a[]b", false), ("ab[", "ab[", false), ("ab", "[!", false),
        ("ab", "[-", false), ("-", "[-]", true), ("-", "[a-", false), ("-", "[!a-", false), ("-", "[--A]", true), ("5", "[--A]", true),
        (" ", "[ --]", true), ("$", "[ --]", true), ("-", "[ --]", true), ("0", "[ --]", false), ("-", "[---]", true),
        ("-", "[------]", true), ("j", "[a-e-n]", false), ("-", "[a-e-n]", true), ("a", "[!------]", true), ("[", "[]-a]", false),
        ("^", "[]-a]", true), ("^", "[!]-a]", false), ("[", "[!]-a]", true), ("^", "[a^bc]", true), ("-b]", "[a-]b]", true),
        (#"\"#, #"[\]"#, false), (#"\"#, #"[\\]"#, true), (#"\"#, #"[!\\]"#, false), ("G", #"[A-\\]"#, true), ("aaabbb", "b*a", false),
        ("aabcaa", "*ba*", false), (",", "[,]", true), (",", #"[\\,]"#, true), (#"\"#, #"[\\,]"#, true), ("-", "[,-.]", true),
        ("+", "[,-.]", false), ("-.]", "[,-.]", false), ("2", #"[\1-\3]"#, true), ("3", #"[\1-\3]"#, true), ("4", #"[\1-\3]"#, false),
        (#"\"#, #"[[-\]]"#, true), ("[", #"[[-\]]"#, true), ("]", #"[[-\]]"#, true), ("-", #"[[-\]]"#, false),
        // Test recursion
        ("-adobe-courier-bold-o-normal--12-120-75-75-m-70-iso8859-1", "-*-*-*-*-*-*-12-*-*-*-m-*-*-*", true),
        ("-adobe-courier-bold-o-normal--12-120-75-75-X-70-iso8859-1", "-*-*-*-*-*-*-12-*-*-*-m-*-*-*", false),
        ("-adobe-courier-bold-o-normal--12-120-75-75-/-70-iso8859-1", "-*-*-*-*-*-*-12-*-*-*-m-*-*-*", false),
        ("XXX/adobe/courier/bold/o/normal//12/120/75/75/m/70/iso8859/1", "XXX/*/*/*/*/*/*/12/*/*/*/m/*/*/*", true),
        ("XXX/adobe/courier/bold/o/normal//12/120/75/75/X/70/iso8859/1", "XXX/*/*/*/*/*/*/12/*/*/*/m/*/*/*", false),
        ("abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txt", "**/*a*b*g*n*t", true),
        ("abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txtz", "**/*a*b*g*n*t", false),
        ("foo", "*/*/*", false), ("foo/bar", "*/*/*", false), ("foo/bba/arr", "*/*/*", true), ("foo/bb/aa/rr", "*/*/*", false),
        ("foo/bb/aa/rr", "**/**/**", true), ("abcXdefXghi", "*X*i", true), ("ab/cXd/efXg/hi", "*X*i", false),
        ("ab/cXd/efXg/hi", "*/*X*/*/*i", true), ("ab/cXd/efXg/hi", "**/*X*/**/*i", true),
        // Extra pathmatch tests
        ("foo", "fo", false), ("foo/bar", "foo/bar", true), ("foo/bar", "foo/*", true), ("foo/bba/arr", "foo/*", false),
        ("foo/bba/arr", "foo/**", true), ("foo/bba/arr", "foo*", false), ("foo/bba/arr", "foo**", false), ("foo/bba/arr", "foo/*arr", false),
        ("foo/bba/arr", "foo/**arr", false), ("foo/bba/arr", "foo/*z", false), ("foo/bba/arr", "foo/**z", false),
        ("foo/bar", "foo?bar", false), ("foo/bar", "foo[/]bar", false), ("foo/bar", "foo[^a-z]bar", false),
        ("ab/cXd/efXg/hi", "*Xg*i", false),
        // Extra case-sensitivity tests
        ("a", "[A-Z]", false), ("A", "[A-Z]", true), ("A", "[a-z]", false), ("a", "[a-z]", true), ("a", "[[:upper:]]", false),
        ("A", "[[:upper:]]", true), ("A", "[[:lower:]]", false), ("a", "[[:lower:]]", true), ("A", "[B-Za]", false), ("a", "[B-Za]", true),
        ("A", "[B-a]", false), ("a", "[B-a]", true), ("z", "[Z-y]", false), ("Z", "[Z-y]", true),
    ]

    @Test(arguments: wildmatch.indices) func gitsWildmatchTable(_ index: Int) {
        let (text, pattern, expected) = Self.wildmatch[index]
        #expect(globMatches(pattern, text) == expected, "'\(text)' against '\(pattern)'")
    }
}

@Suite struct IgnoreRulesTests {
    func excluded(_ rules: String, _ path: String, directory: Bool = false) -> Bool {
        IgnoreRules(parsing: rules).excludes(path, isDirectory: directory)
    }

    // gitignore(5), PATTERN FORMAT and EXAMPLES.

    @Test func aSlashAtTheStartAnchorsAtTheRoot() {
        // "hello.*" matches at any depth; "/hello.*" matches hello.txt, hello.c but not a/hello.java.
        #expect(excluded("hello.*", "hello.txt") && excluded("hello.*", "a/hello.java"))
        #expect(excluded("/hello.*", "hello.txt") && excluded("/hello.*", "hello.c"))
        #expect(!excluded("/hello.*", "a/hello.java"))
    }

    @Test func aSlashInTheMiddleAnchorsToo() {
        // "doc/frotz" and "/doc/frotz" have the same effect.
        for rules in ["doc/frotz", "/doc/frotz"] {
            #expect(excluded(rules, "doc/frotz"))
            #expect(!excluded(rules, "a/doc/frotz"))
        }
        let rules = IgnoreRules(parsing: "doc/frotz\n/doc/frotz\nfrotz\n")
        #expect(rules.rules.map(\.anchored) == [true, true, false])
    }

    @Test func aTrailingSlashMatchesFoldersOnly() {
        // "foo/" matches a directory foo and paths underneath it, but not a regular file or a symbolic link foo.
        #expect(excluded("foo/", "foo", directory: true))
        #expect(excluded("foo/", "foo/bar.py"))
        #expect(excluded("foo/", "a/foo", directory: true))
        #expect(!excluded("foo/", "foo"))
        // "doc/frotz/" matches the doc/frotz directory, not a/doc/frotz; "frotz/" matches frotz and a/frotz.
        #expect(excluded("doc/frotz/", "doc/frotz", directory: true))
        #expect(!excluded("doc/frotz/", "a/doc/frotz", directory: true))
        #expect(excluded("frotz/", "frotz", directory: true) && excluded("frotz/", "a/frotz", directory: true))
    }

    @Test func oneStarStopsAtASlash() {
        // "foo/*" matches foo/test.json and the folder foo/bar, but not foo/bar/hello.c by itself.
        let rules = IgnoreRules(parsing: "foo/*")
        #expect(rules.lastMatch("foo/test.json", isDirectory: false) != nil)
        #expect(rules.lastMatch("foo/bar", isDirectory: true) != nil)
        #expect(rules.lastMatch("foo/bar/hello.c", isDirectory: false) == nil)
        // ... though the file is left out with its folder.
        #expect(rules.exclusion(of: "foo/bar/hello.c", isDirectory: false)?.text == "foo/*")
    }

    @Test func twoStars() {
        // A leading "**/" matches in all directories: "**/foo" is "foo" anywhere; "**/foo/bar" is bar directly under any foo.
        #expect(excluded("**/foo", "foo") && excluded("**/foo", "a/b/foo"))
        #expect(excluded("**/foo/bar", "foo/bar") && excluded("**/foo/bar", "x/foo/bar"))
        #expect(!excluded("**/foo/bar", "foo/x/bar"))
        // A trailing "/**" matches everything inside, with infinite depth, relative to the root.
        #expect(excluded("abc/**", "abc/x") && excluded("abc/**", "abc/x/y/z.py"))
        #expect(!excluded("abc/**", "a/abc/x"))
        #expect(IgnoreRules(parsing: "abc/**").lastMatch("abc", isDirectory: true) == nil)
        // "/**/" matches zero or more directories: "a/**/b" matches a/b, a/x/b, a/x/y/b.
        for path in ["a/b", "a/x/b", "a/x/y/b"] { #expect(excluded("a/**/b", path)) }
        #expect(!excluded("a/**/b", "a/xb"))
        // Other consecutive asterisks are plain ones.
        #expect(excluded("foo**bar", "foobazbar") && !excluded("/foo**bar", "foo/baz/bar"))
    }

    @Test func negationAndLastMatchWins() {
        // Documentation/.gitignore: "*.html" but "!foo.html", which is maintained by hand.
        let html = "# ignore generated html files,\n*.html\n# except foo.html which is maintained by hand\n!foo.html\n"
        #expect(excluded(html, "Documentation/gitignore.html"))
        #expect(!excluded(html, "Documentation/foo.html"))
        #expect(IgnoreRules(parsing: html).lastMatch("foo.html", isDirectory: false)?.negated == true)
        // Order matters: the last matching line decides.
        #expect(excluded("!foo.html\n*.html", "foo.html"))
        // "*.[oa]": objects and archives, anywhere in the tree.
        #expect(excluded("*.[oa]", "file.o") && excluded("*.[oa]", "lib.a") && excluded("*.[oa]", "src/internal.o"))
        #expect(!excluded("*.[oa]", "file.c"))
    }

    @Test func aFileUnderAnExcludedFolderCannotBeReIncluded() {
        // "It is not possible to re-include a file if a parent directory of that file is excluded."
        let rules = "build/\n!build/keep.py\n"
        #expect(excluded(rules, "build/keep.py"))
        #expect(IgnoreRules(parsing: rules).exclusion(of: "build/keep.py", isDirectory: false)?.line == 1)
        // Exclude everything except directory foo/bar (the /* leaves foo/bar's contents alone).
        let onlyFooBar = "# exclude everything except directory foo/bar\n/*\n!/foo\n/foo/*\n!/foo/bar\n"
        #expect(!excluded(onlyFooBar, "foo/bar/x.py"))
        #expect(!excluded(onlyFooBar, "foo/bar/deep/y.py"))
        #expect(excluded(onlyFooBar, "foo/baz.py"))
        #expect(excluded(onlyFooBar, "main.py"))
        #expect(excluded(onlyFooBar, "other/x.py"))
        // A folder's contents excluded with "/*" (not the folder) can be re-included one by one.
        #expect(!excluded("lib/*\n!lib/keep.py\n", "lib/keep.py") && excluded("lib/*\n!lib/keep.py\n", "lib/drop.py"))
    }

    @Test func commentsBlankLinesAndEscapes() {
        let rules = IgnoreRules(parsing: "# a comment\n\n   \n\\#hash.py\n\\!bang.py\n!\n/\n")
        #expect(rules.rules.map(\.text) == ["\\#hash.py", "\\!bang.py"])
        #expect(rules.rules.map(\.line) == [4, 5])
        #expect(rules.excludes("#hash.py", isDirectory: false))
        #expect(rules.excludes("!bang.py", isDirectory: false) && rules.rules[1].negated == false)
        #expect(!rules.excludes("# a comment", isDirectory: false))
        // "\!important!.txt" names a file that starts with "!".
        #expect(excluded("\\!important!.txt", "!important!.txt"))
        // Only a "#" at the very start makes a comment.
        #expect(excluded(" #x", " #x"))
    }

    @Test func trailingSpacesAreDroppedUnlessEscaped() {
        let rules = IgnoreRules(parsing: "a.py   \nb\\ \nc\\  \nd.py\t\n")
        #expect(rules.rules.map(\.text) == ["a.py", "b\\ ", "c\\ ", "d.py\t"])
        #expect(rules.excludes("a.py", isDirectory: false) && !rules.excludes("a.py ", isDirectory: false))
        #expect(rules.excludes("b ", isDirectory: false) && !rules.excludes("b", isDirectory: false))
        #expect(rules.excludes("c ", isDirectory: false))
        #expect(rules.excludes("d.py\t", isDirectory: false) && !rules.excludes("d.py", isDirectory: false))
    }

    @Test func windowsLineEndsAndAByteOrderMark() {
        let rules = IgnoreRules(parsing: "\u{FEFF}tests/\r\n*.log\r\n")
        #expect(rules.rules.map(\.text) == ["tests/", "*.log"])
        #expect(rules.excludes("tests", isDirectory: true) && rules.excludes("x/run.log", isDirectory: false))
    }

    @Test func aMalformedClassMatchesNothing() {
        #expect(!excluded("[a-", "a") && !excluded("x[", "x[") && !excluded("[[:nope:]]", "a"))
    }

    @Test func describesItsRules() {
        let rule = IgnoreRules(parsing: "\n!/lib/**/test_*.py/\n").rules[0]
        #expect(rule.line == 2 && rule.text == "!/lib/**/test_*.py/")
        #expect(rule.negated && rule.directoryOnly && rule.anchored)
        #expect(IgnoreRules(parsing: "").rules.isEmpty)
    }
}
