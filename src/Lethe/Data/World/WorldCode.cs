// Tells Lethe's own generated code tasks from code of any other origin. A code task runs the data
// file's test_setup_code and test_list, so `lethe eval` runs a code file without the user's
// explicit --allow-code-execution only when it is byte-identical to a code split the generator
// makes for the seed and size named by the world's manifest (regenerated here, so a file that merely
// claims to come from a world is not trusted).
using System.Text;
using System.Text.Json.Nodes;

namespace Lethe.Data.World;

public static class WorldCode
{
    private static readonly Dictionary<(ulong, WorldSize), string[]> Rendered = new();

    /// <summary>True when path is WORLD/code/{train,probe,validation,test}.jsonl exactly as `lethe world generate` writes it for WORLD/manifest.json's seed and size.</summary>
    public static bool IsGenerated(string path)
    {
        string full = Path.GetFullPath(path);
        string? codeDir = Path.GetDirectoryName(full);
        if (codeDir is null || Path.GetFileName(codeDir) != "code" || !File.Exists(full)) return false;
        string manifest = Path.Combine(Path.GetDirectoryName(codeDir) ?? "/", WorldGenerator.ManifestName);
        if (!File.Exists(manifest) || new FileInfo(manifest).Length > 1 << 20) return false;
        ulong seed; WorldSize size;
        try
        {
            var json = JsonNode.Parse(File.ReadAllText(manifest))!;
            seed = json["seed"]!.GetValue<ulong>();
            size = WorldOptions.ParseSize(json["size"]!.GetValue<string>());
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or NullReferenceException or FormatException or LetheException) { return false; }
        string[] texts;
        lock (Rendered)
        {
            if (!Rendered.TryGetValue((seed, size), out texts!))
            {
                var splits = PythonTasks.Build(WorldCounts.For(size), seed);
                texts = new[] { splits.Train, splits.Probe, splits.Validation, splits.Test }
                    .Select(items => string.Concat(items.Select(t => WorldJson.Code(t) + "\n"))).ToArray();
                Rendered[(seed, size)] = texts;
            }
        }
        var bytes = File.ReadAllBytes(full);
        return texts.Any(t => Encoding.UTF8.GetBytes(t).AsSpan().SequenceEqual(bytes));
    }
}
