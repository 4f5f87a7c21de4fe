// Test-side access to headless Chromium for looking at the HTML pages Lethe writes. On first use it
// makes sure Debian's `chromium` and the Noto fonts (fonts-noto-core: Arabic, Devanagari and the
// rest; fonts-noto-cjk: Chinese) are installed, running `apt-get update` and `apt-get install` when
// they are missing (as root; otherwise the failure says what to run), then runs
// tools/browser-check/check-pages.mjs with node and parses its JSON. A missing tool or an
// unreachable apt mirror is a test FAILURE with a message saying so, never a skip.
using System.Text.Json;

namespace Lethe.Tests.Reports;

/// <summary>What Chromium showed for one page (see check-pages.mjs for the meaning of each field).</summary>
public sealed record PageView(string Path, string[] ConsoleErrors, SvgBox[] Svgs, int Glyphs, Tofu[] Tofu, Dictionary<string, LanguageText> Languages);
public sealed record SvgBox(int Index, string Label, double Width, double Height);
public sealed record Tofu(string Char, string Codepoint, string Font, string Context);
public sealed record LanguageText(int Chars, Dictionary<string, int> Scripts);

public static class HeadlessBrowser
{
    /// <summary>Debian packages the checks need, with the file or font language that shows each is there.</summary>
    private static readonly (string Package, Func<bool> Present)[] Needs =
    {
        ("chromium", () => OnPath("chromium")),
        ("fontconfig", () => OnPath("fc-list")),
        ("fonts-noto-core", () => FontsFor("hi") && FontsFor("ar")),
        ("fonts-noto-cjk", () => FontsFor("zh-cn")),
    };

    private static readonly Lazy<bool> Installed = new(Install, LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    /// <summary>Opens the pages in one Chromium and returns what it saw, in order. extraEnv: e.g. FONTCONFIG_FILE.</summary>
    public static IReadOnlyList<PageView> Check(IEnumerable<string> pages, IReadOnlyDictionary<string, string>? extraEnv = null, IEnumerable<string>? extraArgs = null)
    {
        _ = Installed.Value;
        string script = System.IO.Path.Combine(Tokenizers.JsReference.RepoRoot, "tools", "browser-check", "check-pages.mjs");
        var args = new List<string> { script };
        args.AddRange(extraArgs ?? Array.Empty<string>());
        args.AddRange(pages);
        var (code, stdout, stderr) = Run("node", args, TimeSpan.FromMinutes(3), extraEnv);
        if (code != 0) throw new InvalidOperationException($"node check-pages.mjs failed (exit {code}):\n{stderr}");
        using var doc = JsonDocument.Parse(stdout);
        return doc.RootElement.GetProperty("pages").EnumerateArray().Select(p => p.Deserialize<PageView>(Json)!).ToList();
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => d.Length > 0 && File.Exists(System.IO.Path.Combine(d, program)));

    /// <summary>Whether fontconfig knows a font covering the language (fc-list :lang=xx lists one).</summary>
    private static bool FontsFor(string lang) =>
        OnPath("fc-list") && Run("fc-list", new[] { ":lang=" + lang, "family" }, TimeSpan.FromMinutes(1)).Stdout.Trim().Length > 0;

    private static bool Install()
    {
        var missing = Needs.Where(n => !n.Present()).Select(n => n.Package).ToList();
        if (missing.Count == 0) return true;
        string command = "apt-get update && apt-get install -y --no-install-recommends " + string.Join(' ', missing);
        if (Environment.UserName != "root")
            throw new InvalidOperationException($"The report rendering tests need headless Chromium and the Noto fonts; missing: {string.Join(", ", missing)}. " +
                $"Install them as root: sudo sh -c '{command}'");
        // One installer at a time across test processes (apt holds its own lock, but would fail rather than wait).
        string root = System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "lethe");
        Directory.CreateDirectory(root);
        using var lockFile = AcquireLock(System.IO.Path.Combine(root, "apt.lock"));
        missing = Needs.Where(n => !n.Present()).Select(n => n.Package).ToList();
        if (missing.Count == 0) return true;
        var env = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
        var update = Run("apt-get", new[] { "update" }, TimeSpan.FromMinutes(10), env);
        var install = update.Code != 0 ? update
            : Run("apt-get", new[] { "install", "-y", "--no-install-recommends" }.Concat(missing).ToArray(), TimeSpan.FromMinutes(15), env);
        if (install.Code != 0)
            throw new InvalidOperationException($"The report rendering tests need headless Chromium and the Noto fonts, and `{command}` failed (exit {install.Code}). " +
                "Check that the Debian mirror is reachable (apt-get update) or install the packages by hand. apt said:\n" + Tail(install.Stdout + install.Stderr));
        var still = Needs.Where(n => !n.Present()).Select(n => n.Package).ToList();
        if (still.Count > 0)
            throw new InvalidOperationException($"`{command}` succeeded but {string.Join(", ", still)} still look missing (no `chromium` on the PATH, or fc-list :lang=zh-cn/hi/ar lists no font).");
        return true;
    }

    private static string Tail(string s) => s.Length <= 3000 ? s : "…" + s[^3000..];

    private static FileStream AcquireLock(string path)
    {
        var deadline = DateTime.UtcNow.AddMinutes(20);
        while (true)
        {
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (DateTime.UtcNow < deadline) { Thread.Sleep(200); }
        }
    }

    private static (int Code, string Stdout, string Stderr) Run(string program, IReadOnlyList<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string>? env = null) =>
        ExternalProcess.Run(program, args, timeout, "The report rendering tests (node: Node.js 20+; apt-get: Debian)", env: env);
}
