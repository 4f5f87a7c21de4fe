// A model's weights, whether one model.safetensors or shards listed by model.safetensors.index.json:
// one name lookup over all files. Open accepts a model folder (model.safetensors preferred over the
// index when both exist, as transformers does), a .safetensors file, or an index file. For a sharded checkpoint every shard the index names must exist and open cleanly, every
// name in weight_map must be in the shard it points to, and no tensor may be stored in two shards.
// Tensors present in a shard but missing from weight_map are still found by name (transformers
// loads whole shards too). Dispose closes every file (loaded tensors keep their mapping alive).
using Lethe.Tensors;

namespace Lethe.IO;

public sealed class SafeTensorsCheckpoint : IDisposable
{
    private readonly List<SafeTensorsFile> files;
    private readonly Dictionary<string, SafeTensorsFile> fileOf;

    private SafeTensorsCheckpoint(string path, SafeTensorsIndex? index, List<SafeTensorsFile> files, Dictionary<string, SafeTensorsFile> fileOf)
    {
        Path = path; Index = index; this.files = files; this.fileOf = fileOf;
    }

    /// <summary>The path the checkpoint was opened from.</summary>
    public string Path { get; }
    /// <summary>The index of a sharded checkpoint; null for a single file.</summary>
    public SafeTensorsIndex? Index { get; }
    public IReadOnlyList<SafeTensorsFile> Files => files;
    /// <summary>"__metadata__" of the single file, or of the first shard (writers put the same map in every shard).</summary>
    public IReadOnlyDictionary<string, string> Metadata => files.Count > 0 ? files[0].Metadata : new Dictionary<string, string>();
    /// <summary>All tensor names, file by file in offset order.</summary>
    public IEnumerable<string> Names => files.SelectMany(f => f.Names);
    public int Count => fileOf.Count;
    public bool Contains(string name) => fileOf.ContainsKey(name);

    public static SafeTensorsCheckpoint Open(string path)
    {
        if (Directory.Exists(path))
        {
            string index = System.IO.Path.Combine(path, SafeTensorsWriter.IndexFileName);
            string single = System.IO.Path.Combine(path, SafeTensorsWriter.SingleFileName);
            // transformers' order: the single file first, then the index.
            if (File.Exists(single)) return OpenSingle(path, single);
            if (File.Exists(index)) return OpenSharded(path, index);
            var indexes = Directory.GetFiles(path, "*.safetensors.index.json");
            var singles = Directory.GetFiles(path, "*.safetensors");
            if (indexes.Length == 1) return OpenSharded(path, indexes[0]);
            if (indexes.Length == 0 && singles.Length == 1) return OpenSingle(path, singles[0]);
            var present = Directory.GetFiles(path).Select(System.IO.Path.GetFileName).Take(8);
            throw new LetheException($"{path}: no {SafeTensorsWriter.SingleFileName} or {SafeTensorsWriter.IndexFileName} in this folder" +
                (indexes.Length + singles.Length > 1 ? $" and several other safetensors files ({string.Join(", ", indexes.Concat(singles).Select(System.IO.Path.GetFileName))}); pass the one to use" : $" (it holds: {string.Join(", ", present)}); a model folder needs weights in safetensors format — convert .bin/.pt weights with the Python safetensors package"));
        }
        if (!File.Exists(path))
            throw new LetheException($"{path}: no such file or folder; pass a model folder, a .safetensors file or a {SafeTensorsWriter.IndexFileName}");
        return path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? OpenSharded(path, path) : OpenSingle(path, path);
    }

    private static SafeTensorsCheckpoint OpenSingle(string path, string file)
    {
        var f = SafeTensorsFile.Open(file);
        var fileOf = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
        foreach (var e in f.Entries) fileOf.Add(e.Name, f);
        return new SafeTensorsCheckpoint(path, null, new List<SafeTensorsFile> { f }, fileOf);
    }

    private static SafeTensorsCheckpoint OpenSharded(string path, string indexPath)
    {
        var index = SafeTensorsIndex.Read(indexPath);
        string folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(indexPath))!;
        var missing = index.ShardFiles.Where(s => !File.Exists(System.IO.Path.Combine(folder, s))).ToList();
        if (missing.Count > 0)
        {
            string example = index.WeightMap.First(kv => kv.Value == missing[0]).Key;
            throw new LetheException($"{indexPath}: field \"weight_map\" names {missing.Count} shard file(s) that do not exist in {folder}: {string.Join(", ", missing.Take(5))} (e.g. for tensor {SafeTensorsHeader.Quote(example)}); the download is incomplete — download the missing shards");
        }

        var files = new List<SafeTensorsFile>();
        try
        {
            var byShard = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
            foreach (var shard in index.ShardFiles)
            {
                var f = SafeTensorsFile.Open(System.IO.Path.Combine(folder, shard));
                files.Add(f);
                byShard.Add(shard, f);
            }
            var fileOf = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
            foreach (var (name, shard) in index.WeightMap)
            {
                var f = byShard[shard];
                if (!f.Contains(name))
                    throw new LetheException($"{indexPath}: field \"weight_map\".{SafeTensorsHeader.Quote(name)} says the tensor is in {shard}, but {f.Path} has no tensor of that name; the index and shards do not belong together — re-download the checkpoint");
                fileOf.Add(name, f);
            }
            foreach (var f in files)
            {
                foreach (var e in f.Entries)
                {
                    if (fileOf.TryGetValue(e.Name, out var owner) && owner != f)
                        throw new LetheException($"{indexPath}: tensor {SafeTensorsHeader.Quote(e.Name)} is stored in both {owner.Path} and {f.Path}; a tensor must be in one shard only — re-download the checkpoint");
                    fileOf.TryAdd(e.Name, f);
                }
            }
            return new SafeTensorsCheckpoint(path, index, files, fileOf);
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    /// <summary>The file holding a tensor; a clear error when no file has it.</summary>
    public SafeTensorsFile FileOf(string name)
    {
        if (fileOf.TryGetValue(name, out var f)) return f;
        var some = Names.Take(5).Select(SafeTensorsHeader.Quote);
        throw new LetheException($"{Path}: no tensor named {SafeTensorsHeader.Quote(name)} in this checkpoint ({Count} tensors{(Count > 0 ? ", e.g. " + string.Join(", ", some) : "")}); check the name against the model's architecture");
    }

    public SafeTensorsEntry Entry(string name) => FileOf(name).Entry(name);
    public Tensor Load(string name) => FileOf(name).Load(name);
    public Tensor LoadAs(string name, DType dtype) => FileOf(name).LoadAs(name, dtype);
    public long[] ReadInt64(string name) => FileOf(name).ReadInt64(name);
    public int[] ReadInt32(string name) => FileOf(name).ReadInt32(name);
    public T[] ReadArray<T>(string name) where T : unmanaged => FileOf(name).ReadArray<T>(name);
    public byte[] ReadBytes(string name) => FileOf(name).ReadBytes(name);
    public NonFiniteCount CountNonFinite(string name) => FileOf(name).CountNonFinite(name);
    public void CheckFinite(string name) => FileOf(name).CheckFinite(name);

    /// <summary>SafeTensorsFile.ReleasePages on the file that holds the tensor.</summary>
    public void ReleasePages(string name) => FileOf(name).ReleasePages(name);

    public void CheckAllFinite()
    {
        foreach (var f in files) f.CheckAllFinite();
    }

    public void Dispose()
    {
        foreach (var f in files) f.Dispose();
    }
}
