// The one rule every verb that writes follows, checked before any work starts:
//  1. an output path is never empty;
//  2. an output never touches an input: after resolving symlinks and trailing slashes, an output
//     may not be an input, be a folder that holds an input, or be an existing file or folder
//     inside an input folder (it is part of that input); a new file inside an input folder is
//     allowed (scores.json beside a model) unless it is weights (*.safetensors, *.gguf, *.bin,
//     *.pt: a stray weights file changes what a model folder loads). --force does not lift this;
//  3. an output that exists already is replaced only when it is Lethe's own previous output of the
//     same verb (a folder carrying the marker file .lethe-output naming the verb, or a file a
//     recognizer accepts), or when the user passes --force;
//  4. an output is a plain file or a folder of the kind asked for (never a FIFO or a device, never
//     a file where a folder is wanted).
// Usage, in a command, before loading anything:
//   var policy = new OutputPolicy("unlearn ksd", force).Inputs(modelDir, forgetFiles, retainFiles);
//   string adapter = policy.File("--out", outPath, OutputPolicy.AdapterOf("ksd"));
//   string dir = policy.Folder("--export-model", exportDir);   // later: OutputPolicy.Mark(dir, "unlearn prune")
// Every refusal is a LetheException naming the option, the path and the way out.
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Lethe.IO;

public sealed class OutputPolicy
{
    /// <summary>The marker file in an output folder: JSON {"verb": "..."}.</summary>
    public const string MarkerName = ".lethe-output";

    private readonly List<(string path, bool folder)> inputs = new();

    public OutputPolicy(string verb, bool force)
    {
        Verb = verb; Force = force;
    }

    /// <summary>The verb as the user types it, e.g. "unlearn ksd"; recorded in folder markers.</summary>
    public string Verb { get; }
    public bool Force { get; }

    /// <summary>Registers inputs (files or folders). Null, empty and missing paths are skipped: their reader reports them.</summary>
    public OutputPolicy Inputs(params object?[]? paths)
    {
        foreach (var p in paths ?? Array.Empty<object?>())
        {
            if (p is string s) Add(s);
            else if (p is IEnumerable<string?> many) foreach (var m in many) Add(m);
        }
        return this;

        void Add(string? path)
        {
            if (string.IsNullOrWhiteSpace(path)) return;
            string c = Canonical(path);
            if (Directory.Exists(c)) inputs.Add((c, true));
            else if (System.IO.File.Exists(c)) inputs.Add((c, false));
        }
    }

    /// <summary>Checks an output file; returns its full, resolved path. isOwn recognizes Lethe's previous output of this verb.</summary>
    public string File(string option, string? path, Func<string, bool>? isOwn = null)
    {
        string full = Resolve(option, path);
        if (Directory.Exists(full)) throw new LetheException($"{option} {path}: is a folder; give a file path");
        CheckInputs(option, path!, full, folder: false);
        if (System.IO.File.Exists(full))
        {
            if (!InputFiles.IsRegularFile(full))
                throw new LetheException($"{option} {path}: exists and is not a regular file (a pipe, device or socket); give a plain file path");
            if (!Force && !(isOwn?.Invoke(full) ?? false))
                throw LetheException.About($"{option} {path}: the file exists and is not a previous output of `lethe {Verb}`; pass force to replace it, or choose another path", "force");
        }
        return full;
    }

    /// <summary>Checks an output folder; returns its full, resolved path. An existing folder must be empty, or hold this verb's marker (or be recognized by isOwn), or --force.</summary>
    public string Folder(string option, string? path, Func<string, bool>? isOwn = null)
    {
        string full = Resolve(option, path);
        if (System.IO.File.Exists(full)) throw new LetheException($"{option} {path}: is a file; give a folder path");
        CheckInputs(option, path!, full, folder: true);
        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any()
            && !Force && !IsMarked(full, Verb) && !(isOwn?.Invoke(full) ?? false))
        {
            var some = Directory.EnumerateFileSystemEntries(full).Select(Path.GetFileName).Take(4).ToList();
            throw LetheException.About($"{option} {path}: the folder exists and is not a previous output of `lethe {Verb}` (it holds {string.Join(", ", some)}{(some.Count == 4 ? ", …" : "")}); pass force to write into it, or choose a new or empty folder", "force");
        }
        return full;
    }

    /// <summary>Records that `verb` wrote this folder, so a rerun of the same verb may replace it.</summary>
    public static void Mark(string folder, string verb) =>
        Util.AtomicFile.WriteAllText(Path.Combine(folder, MarkerName), new JsonObject { ["verb"] = verb }.ToJsonString() + "\n");

    /// <summary>Whether the folder carries the marker of `verb`.</summary>
    public static bool IsMarked(string folder, string verb)
    {
        string marker = Path.Combine(folder, MarkerName);
        if (!System.IO.File.Exists(marker) || !InputFiles.IsRegularFile(marker) || new FileInfo(marker).Length > 4096) return false;
        try { return JsonNode.Parse(System.IO.File.ReadAllText(marker))?["verb"]?.GetValue<string>() == verb; }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or IOException) { return false; }
    }

    /// <summary>Recognizes a safetensors file whose metadata holds key = value (e.g. a Lethe adapter of one method).</summary>
    public static Func<string, bool> SafetensorsWith(string key, string value) => path =>
    {
        try
        {
            using var f = SafeTensorsFile.Open(path);
            return f.Metadata.TryGetValue(key, out var v) && v == value;
        }
        catch (Exception e) when (e is LetheException or IOException or UnauthorizedAccessException) { return false; }
    };

    /// <summary>Recognizes a JSON file (at most 64 MB) whose top-level object has all the given keys.</summary>
    public static Func<string, bool> JsonWithKeys(params string[] keys) => path =>
    {
        try
        {
            if (new FileInfo(path).Length > 64L << 20) return false;
            return JsonNode.Parse(System.IO.File.ReadAllText(path)) is JsonObject o && keys.All(o.ContainsKey);
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException) { return false; }
    };

    /// <summary>Recognizes a text file that starts with the given text (e.g. the title of a report Lethe writes).</summary>
    public static Func<string, bool> TextStartingWith(string prefix) => path =>
    {
        try
        {
            using var reader = new StreamReader(path);
            var buffer = new char[prefix.Length];
            return reader.ReadBlock(buffer, 0, buffer.Length) == prefix.Length && new string(buffer) == prefix;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    };

    /// <summary>Recognizes a folder whose entries are all among the given names (the marker included).</summary>
    public static Func<string, bool> FolderOf(params string[] names) => path =>
        Directory.EnumerateFileSystemEntries(path).Select(Path.GetFileName).All(n => n == MarkerName || names.Contains(n));

    /// <summary>The absolute path with every symlink resolved (also in the parents) and no trailing slash; a missing tail is kept as given.</summary>
    public static string Canonical(string path)
    {
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        { throw new LetheException($"{path}: not a valid path ({e.Message})"); }
        return Resolve(full, 0);

        static string Resolve(string full, int depth)
        {
            if (depth > 40) throw new LetheException($"{full}: too many levels of symbolic links (a link loop?); fix or remove the links");
            full = Path.TrimEndingDirectorySeparator(full);
            string root = Path.GetPathRoot(full) ?? "/";
            string current = root;
            var parts = full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
            for (int i = 0; i < parts.Length; i++)
            {
                string next = Path.Combine(current, parts[i]);
                FileSystemInfo info = new FileInfo(next);
                if (info.LinkTarget is { } target)
                {
                    string resolved = Path.GetFullPath(target, current);
                    string rest = string.Join(Path.DirectorySeparatorChar, parts[(i + 1)..]);
                    return Resolve(rest.Length == 0 ? resolved : Path.Combine(resolved, rest), depth + 1);
                }
                if (!info.Exists && !Directory.Exists(next))
                    return Path.Combine(new[] { current }.Concat(parts[i..]).ToArray());
                current = next;
            }
            return current;
        }
    }

    private static string Resolve(string option, string? path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new LetheException($"{option}: the path is empty; give a file or folder to write");
        return Canonical(path);
    }

    private static bool Inside(string path, string folder) =>
        path.StartsWith(folder.EndsWith(Path.DirectorySeparatorChar) ? folder : folder + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>Files that change what a model folder holds when added to it (weights in any format).</summary>
    private static readonly string[] WeightExtensions = { ".safetensors", ".gguf", ".bin", ".pt", ".pth" };

    private void CheckInputs(string option, string given, string full, bool folder)
    {
        foreach (var (input, isFolder) in inputs)
        {
            string? why = full == input ? "is an input of this command"
                : Inside(input, full) ? $"would hold the input {input}"
                : isFolder && Inside(full, input) && (System.IO.File.Exists(full) || Directory.Exists(full)) ? $"already exists inside the input folder {input}"
                : isFolder && Inside(full, input) && !folder && WeightExtensions.Any(e => full.EndsWith(e, StringComparison.OrdinalIgnoreCase)) ? $"would add weights to the input folder {input}"
                : null;
            if (why is not null)
                throw LetheException.About($"{option} {given}: {why}; Lethe never writes over its inputs (not even with force); choose an output outside them", "force");
        }
    }
}
