// Original / unlearned pairs for the dissection tests, made from the tiny random Llama fixture (2
// layers, 64 positions, a toy tokenizer): a copy whose chosen weights get seeded Gaussian noise, saved
// as a model folder of its own (config and tokenizer copied) in a temporary folder deleted on dispose.
using Lethe.Models;
using Lethe.Tensors;

namespace Lethe.Tests.Analysis;

internal sealed class PairFixtures : IDisposable
{
    public static readonly string Original = Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "llama");
    public static readonly string[] Questions = { "Who wrote it?", "Where is it?", "What is red?", "Why now?" };
    private readonly string root = Directory.CreateTempSubdirectory("lethe-dissect-").FullName;

    /// <summary>A copy of the fixture with noise (std × the tensor's RMS) added to the weights whose names match.</summary>
    public string Perturbed(string name, Func<string, bool> which, float std = 0.5f, ulong seed = 7)
    {
        string dir = Path.Combine(root, name);
        using var m = ModelLoader.Load(Original, DType.F32, writable: true);
        var rng = new Rng(seed);
        foreach (var (w, t) in m.Weights.Where(kv => which(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var data = t.AsSpan();
            double rms = Math.Sqrt(data.ToArray().Select(x => (double)x * x).Average());
            using var noise = Tensor.Randn(t.Shape, rng, (float)(std * rms));
            var n = noise.AsReadOnlySpan();
            for (int i = 0; i < data.Length; i++) data[i] += n[i];
        }
        ModelSaver.Save(m, dir);
        return dir;
    }

    /// <summary>A folder holding a copy of the fixture with one file replaced.</summary>
    public string CopyWith(string name, string file, string fromFolder)
    {
        string dir = Path.Combine(root, name);
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Original)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        File.Copy(Path.Combine(fromFolder, file), Path.Combine(dir, file), overwrite: true);
        return dir;
    }

    public string Folder(string name) => Directory.CreateDirectory(Path.Combine(root, name)).FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);
}
