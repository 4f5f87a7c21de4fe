// A reference fixture written by tools/reference/fixture_io.py (format documented there), read
// from the test output folder, where tests/fixtures/** is copied under fixtures/:
//   { "op": "...", "params": { any JSON }, "tensors": { name: { "shape": [...], "dtype": "f32" | "f64" | "i64", "data": [...] } } }
// Data are row-major. f32 values are parsed directly as float (never via double), so they come back
// bit for bit; f64 values as double; i64 values as integers. Accessors fail with the fixture's path
// and the missing name, so a wrong fixture is easy to find.
//   var fx = Fixture.Load("ops/rms_norm.json");
//   Tensor x = fx.Tensor("x", requiresGrad: true);  float eps = fx.Float("eps");
//   GradCheck.Close(fx.Floats("out"), y.ToArray(), 1e-4, fx.Describe("out"));
using System.Text.Json;
using Lethe.Tensors;
using Xunit;

namespace Lethe.Tests.Engine;

public sealed class Fixture
{
    private readonly JsonElement tensors;

    /// <summary>Path relative to the fixtures folder, e.g. "ops/softmax.json".</summary>
    public string Path { get; }
    public string Op { get; }
    public JsonElement Params { get; }

    private Fixture(string path, JsonElement root)
    {
        Path = path;
        Op = root.TryGetProperty("op", out var op) ? op.GetString() ?? "" : throw new InvalidDataException($"{path}: no \"op\"");
        Params = root.TryGetProperty("params", out var p) ? p : default;
        tensors = root.TryGetProperty("tensors", out var t) ? t : throw new InvalidDataException($"{path}: no \"tensors\"");
    }

    public static string Folder => System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures");

    public static Fixture Load(string relativePath)
    {
        string full = System.IO.Path.Combine(Folder, relativePath);
        Assert.True(File.Exists(full), $"fixture {relativePath} not found at {full}; regenerate it (tools/reference/README.md)");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(full));
        return new Fixture(relativePath, doc.RootElement.Clone());
    }

    /// <summary>The fixture files of one subfolder ("ops"), as relative paths, sorted.</summary>
    public static string[] List(string subfolder)
    {
        string dir = System.IO.Path.Combine(Folder, subfolder);
        if (!Directory.Exists(dir)) return Array.Empty<string>();
        return Directory.GetFiles(dir, "*.json").Select(f => subfolder + "/" + System.IO.Path.GetFileName(f)).OrderBy(f => f, StringComparer.Ordinal).ToArray();
    }

    public string Name => System.IO.Path.GetFileNameWithoutExtension(Path);

    /// <summary>"fixture ops/x.json: what", for assertion messages.</summary>
    public string Describe(string what) => $"fixture {Path}: {what}";

    // ---- tensors ----

    public bool Has(string name) => tensors.TryGetProperty(name, out _);

    /// <summary>The names of the fixture's tensors, in file order.</summary>
    public IEnumerable<string> Tensors() => tensors.EnumerateObject().Select(p => p.Name).ToList();

    private JsonElement Entry(string name) =>
        tensors.TryGetProperty(name, out var e) ? e : throw new InvalidDataException($"fixture {Path} has no tensor \"{name}\"");

    public int[] Shape(string name) => Entry(name).GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();

    public string DType(string name) => Entry(name).GetProperty("dtype").GetString() ?? "";

    /// <summary>The data as float32 (f32 exactly; f64 rounded; i64 converted).</summary>
    public float[] Floats(string name) => Data(name).Select(v => v.GetSingle()).ToArray();

    public double[] Doubles(string name) => Data(name).Select(v => v.GetDouble()).ToArray();

    public int[] Ints(string name)
    {
        if (DType(name) != "i64") throw new InvalidDataException($"fixture {Path}: tensor \"{name}\" is {DType(name)}, not integers");
        return Data(name).Select(v => checked((int)v.GetInt64())).ToArray();
    }

    private IEnumerable<JsonElement> Data(string name)
    {
        var e = Entry(name);
        var data = e.GetProperty("data");
        long expected = Lethe.Tensors.Shape.Count(Shape(name));
        if (data.GetArrayLength() != expected)
            throw new InvalidDataException($"fixture {Path}: tensor \"{name}\" has {data.GetArrayLength()} values for shape {Lethe.Tensors.Shape.Format(Shape(name))}");
        return data.EnumerateArray();
    }

    /// <summary>A new tensor with the fixture's shape and values (converted to dtype).</summary>
    public Tensor Tensor(string name, DType dtype = Lethe.Tensors.DType.F32, bool requiresGrad = false)
    {
        var t = Lethe.Tensors.Tensor.FromArray(Floats(name), Shape(name), dtype);
        t.RequiresGrad = requiresGrad;
        return t;
    }

    // ---- params ----

    public bool HasParam(string name) => Params.ValueKind == JsonValueKind.Object && Params.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    public JsonElement Param(string name) =>
        Params.ValueKind == JsonValueKind.Object && Params.TryGetProperty(name, out var v) ? v : throw new InvalidDataException($"fixture {Path} has no parameter \"{name}\"");

    public double Double(string name) => Param(name).GetDouble();
    public float Float(string name) => Param(name).GetSingle();
    public int Int(string name) => Param(name).GetInt32();
    public bool Bool(string name) => Param(name).GetBoolean();
    public string String(string name) => Param(name).GetString() ?? "";

    public override string ToString() => Path; // names the case in test output
}
