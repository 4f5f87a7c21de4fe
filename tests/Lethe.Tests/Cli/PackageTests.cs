// `dotnet pack` makes the Lethe library package and the lethe dotnet tool; the tool installs from
// the packed folder into a temporary tool path (its own NuGet cache and a nuget.config with only
// that folder, so nothing stale or remote is used) and runs `lethe --version` and `lethe info` on
// the shipped model. Packs the Release build already on disk (builds it when it is missing).
using System.IO.Compression;
using Lethe.Tests.IO;
using Lethe.Tests.Tokenizers;
using Xunit;

namespace Lethe.Tests.Cli;

public class PackageTests
{
    private static (int code, string output) Dotnet(string workDir, IDictionary<string, string>? env, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env != null) foreach (var (k, v) in env) psi.Environment[k] = v;
        return Run(psi);
    }

    private static (int code, string output) Run(System.Diagnostics.ProcessStartInfo psi)
    {
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(true); throw new TimeoutException($"{psi.FileName} {string.Join(' ', psi.ArgumentList)} did not finish in 5 minutes"); }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    [Fact]
    public void PackedToolInstallsAndRuns()
    {
        string root = JsReference.RepoRoot;
        using var dir = new TempFolder();
        string packages = dir.File("packages");
        bool built = File.Exists(Path.Combine(root, "src", "Lethe.Cli", "bin", "Release", "net10.0", "Lethe.Cli.dll"));
        foreach (var project in new[] { "src/Lethe/Lethe.csproj", "src/Lethe.Cli/Lethe.Cli.csproj" })
        {
            var args = new List<string> { "pack", project, "-c", "Release", "-o", packages, "--nologo", "-v", "q" };
            if (built) args.Add("--no-build");
            var (code, output) = Dotnet(root, null, args.ToArray());
            Assert.True(code == 0, $"dotnet pack {project} failed:\n{output}");
        }
        using (var library = ZipFile.OpenRead(Path.Combine(packages, "Lethe.0.1.0.nupkg")))
        {
            var names = library.Entries.Select(e => e.FullName).ToList();
            Assert.Contains("README.md", names);
            Assert.Contains("LICENSE", names);
            Assert.Contains("lib/net10.0/Lethe.dll", names);
            using var xml = new StreamReader(library.GetEntry("lib/net10.0/Lethe.xml")!.Open());
            string docs = xml.ReadToEnd();
            Assert.Contains("<member name=\"M:Lethe.Tokenizers.Tokenizer.Load(System.String)\">", docs);
        }
        File.WriteAllText(dir.File("nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration><packageSources><clear /><add key="packed" value="{packages}" /></packageSources></configuration>
            """);
        var env = new Dictionary<string, string> { ["NUGET_PACKAGES"] = dir.File("nuget-cache") };
        string tools = dir.File("tools");
        var (rc, log) = Dotnet(dir.Path, env, "tool", "install", "Lethe.Cli", "--tool-path", tools, "--configfile", dir.File("nuget.config"), "--version", "0.1.0");
        Assert.True(rc == 0, "dotnet tool install failed:\n" + log);
        string lethe = Path.Combine(tools, OperatingSystem.IsWindows() ? "lethe.exe" : "lethe");
        var (versionCode, version) = Run(new System.Diagnostics.ProcessStartInfo(lethe, "--version") { RedirectStandardOutput = true, RedirectStandardError = true });
        Assert.True(versionCode == 0, version);
        Assert.StartsWith("0.1.0", version.Trim());
        var info = new System.Diagnostics.ProcessStartInfo(lethe) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("info");
        info.ArgumentList.Add(Path.Combine(root, "models", "lethe-demo"));
        var (infoCode, infoText) = Run(info);
        Assert.True(infoCode == 0, infoText);
        Assert.Contains("architecture:   llama", infoText);
        Assert.Contains("layers:         8", infoText);
    }
}
