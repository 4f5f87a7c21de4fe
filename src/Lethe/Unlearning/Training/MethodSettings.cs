// Resolved parameter values of one run: declared defaults, then the preset's values, then what the
// user set. Unknown names and malformed values are refused naming the parameter (listed in the
// exception's Parameters, so a front end can show its own spelling). Also the training
// parameters every weight-editing method shares (TrainingParameters), with per-method defaults.
using System.Globalization;
using System.Text.Json.Nodes;

namespace Lethe.Unlearning.Training;

public sealed class MethodSettings
{
    private readonly Dictionary<string, string> values;

    public string MethodName { get; }
    public string? Preset { get; }
    public IReadOnlyDictionary<string, string> Values => values;

    private MethodSettings(string method, string? preset, Dictionary<string, string> values)
    {
        MethodName = method; Preset = preset; this.values = values;
    }

    public static MethodSettings Resolve(IUnlearningMethod method, string? preset, IReadOnlyDictionary<string, string>? given)
    {
        var known = method.Parameters.ToDictionary(p => p.Name);
        if (preset is not null && !method.Parameters.Any(p => p.Presets.ContainsKey(preset)) && preset is not ("demo" or "zephyr-7b"))
            throw new LetheException($"{method.Name}: unknown preset '{preset}'; known: demo, zephyr-7b");
        var values = new Dictionary<string, string>();
        foreach (var p in method.Parameters)
            values[p.Name] = preset is not null && p.Presets.TryGetValue(preset, out var v) ? v : p.Default;
        foreach (var (name, value) in given ?? new Dictionary<string, string>())
        {
            if (!known.TryGetValue(name, out var p))
                throw new LetheException($"{method.Name}: has no parameter '{name}'; its parameters are {string.Join(", ", known.Keys)}");
            if (p.Choices is { } choices && !choices.Contains(value))
                throw LetheException.About($"{method.Name}: {name} '{value}' is not one of {string.Join(", ", choices)}", name);
            values[name] = value;
        }
        var settings = new MethodSettings(method.Name, preset, values);
        foreach (var p in method.Parameters.Where(p => p.Choices is null && !p.IsText && values[p.Name] != "")) // validate early
            if (settings.Number(p.Name) < p.Min)
                throw LetheException.About($"{method.Name}: {p.Name} must be ≥ {p.Min.Value.ToString(CultureInfo.InvariantCulture)}, got {values[p.Name]}", p.Name);
        return settings;
    }

    public string Text(string name) => values.TryGetValue(name, out var v) ? v : throw new LetheException($"{MethodName}: no parameter '{name}'");

    public double Number(string name)
    {
        string v = Text(name);
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || !double.IsFinite(x))
            throw LetheException.About($"{MethodName}: {name} must be a finite number, got '{v}'", name);
        return x;
    }

    public int Integer(string name, int min = int.MinValue)
    {
        double x = Number(name);
        if (x != Math.Floor(x) || x < min || x > int.MaxValue)
            throw LetheException.About($"{MethodName}: {name} must be a whole number ≥ {min}, got '{Text(name)}'", name);
        return (int)x;
    }

    /// <summary>
    /// The run record's settings part, the same for every kind of method: {"method", "preset",
    /// "parameters": every resolved value by name, sorted}. unlearn_run.json starts with it; an
    /// adapter file stores it as its "settings" metadata.
    /// </summary>
    public JsonObject ToJson() => new()
    {
        ["method"] = MethodName,
        ["preset"] = Preset,
        ["parameters"] = new JsonObject(values.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
    };

    /// <summary>An optional number: "" means unset.</summary>
    public double? OptionalNumber(string name) => Text(name) == "" ? null : Number(name);

    /// <summary>A number in [min, max] (either bound open when asked), refused naming the parameter and the range.</summary>
    public double Number(string name, double min, double max, bool minOpen = false, bool maxOpen = false)
    {
        double x = Number(name);
        if ((minOpen ? x > min : x >= min) && (maxOpen ? x < max : x <= max)) return x;
        string range = $"{(minOpen ? "(" : "[")}{min.ToString(CultureInfo.InvariantCulture)}, {(double.IsPositiveInfinity(max) ? "∞)" : max.ToString(CultureInfo.InvariantCulture) + (maxOpen ? ")" : "]"))}";
        throw LetheException.About($"{MethodName}: {name} must be in {range}, got {Text(name)}", name);
    }

    /// <summary>Whether the user (or the preset) gave this parameter a value other than its declared default.</summary>
    public bool IsSet(string name) => Text(name) != "";

    /// <summary>An optional whole number: "" means unset.</summary>
    public int? OptionalInteger(string name, int min = int.MinValue) => Text(name) == "" ? null : Integer(name, min);
}

/// <summary>The optimisation parameters every weight-editing method has, with that method's defaults.</summary>
public static class TrainingParameters
{
    public sealed record Defaults(int Steps, double Lr, int Batch, int MaxTokens, double WeightDecay, double AdamEps, double Clip)
    {
        public IReadOnlyDictionary<string, string>? Zephyr { get; init; }
        public IReadOnlyDictionary<string, string>? Demo { get; init; }
    }

    public static List<MethodParameter> For(Defaults d)
    {
        MethodParameter P(string name, object value, string help) => new(name, Convert.ToString(value, CultureInfo.InvariantCulture)!, help)
        {
            Presets = Presets(name, d),
        };
        return new List<MethodParameter>
        {
            P("steps", d.Steps, "optimizer steps"),
            P("lr", d.Lr, "AdamW learning rate (constant after warm-up)"),
            P("warmup", 0, "linear warm-up steps"),
            P("batch_size", d.Batch, "examples per batch (of each set)"),
            P("max_tokens", d.MaxTokens, "tokens kept per example (longer ones are truncated)"),
            P("weight_decay", d.WeightDecay, "AdamW decoupled weight decay"),
            P("adam_eps", d.AdamEps, "AdamW epsilon"),
            P("clip", d.Clip, "clip gradients to this global norm; 0 = off"),
            P("checkpoint_every", 25, "steps between resumable checkpoints"),
        };
    }

    private static Dictionary<string, string> Presets(string name, Defaults d)
    {
        var r = new Dictionary<string, string>();
        if (d.Zephyr?.TryGetValue(name, out var z) == true) r["zephyr-7b"] = z;
        if (d.Demo?.TryGetValue(name, out var m) == true) r["demo"] = m;
        return r;
    }
}
