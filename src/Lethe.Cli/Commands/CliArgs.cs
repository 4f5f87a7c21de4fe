// Arguments and options shared by several verbs, so they are spelled and checked the same way.
using System.CommandLine;
using Lethe.Models;
using Lethe.Tensors;

namespace Lethe.Cli.Commands;

internal static class CliArgs
{
    public static Argument<string> Model() => new("MODEL") { Description = "A model folder (config.json, *.safetensors, tokenizer.json) or a .gguf file" };

    public static Option<string?> DType() => new("--dtype") { Description = "Convert weights on load: f32, f16 or bf16 (default: as stored); q8_0 (int8 weights, inference only) where the verb allows it" };

    /// <summary>With --dtype q8_0: what to do with matrices that Q8_0 cannot hold (last dimension not a multiple of 32).</summary>
    public static Option<string?> Q8Fallback() => new("--q8-fallback") { Description = "With --dtype q8_0: keep matrices whose last dimension is not a multiple of 32 in bf16 (the only value) instead of stopping" };

    /// <summary>
    /// Loads MODEL with --dtype. q8_0 is accepted only when the verb passes q8Fallback (inference
    /// verbs: generate, eval): the model is loaded as stored, or as bf16 with --q8-fallback bf16,
    /// and every Linear weight gets an int8 copy (TransformerModel.QuantizeLinearWeightsQ8).
    /// </summary>
    public static TransformerModel LoadModel(ParseResult parse, Argument<string> model, Option<string?> dtype, Option<string?>? q8Fallback = null)
    {
        string? d = parse.GetValue(dtype);
        if (d is not null && d.Equals("q8_0", StringComparison.OrdinalIgnoreCase))
        {
            if (q8Fallback is null)
                throw new LetheException($"--dtype q8_0: `{parse.CommandResult.Command.Name}` does not take int8 weights (q8_0 is for inference: generate, eval); use --dtype f32, f16 or bf16");
            string? fallback = parse.GetValue(q8Fallback);
            if (fallback is not null && !fallback.Equals("bf16", StringComparison.OrdinalIgnoreCase))
                throw new LetheException($"--q8-fallback: '{fallback}' is not supported; the only fallback is bf16 (--q8-fallback bf16)");
            return ModelLoader.LoadQ8(parse.GetValue(model)!, keepOthersInBf16: fallback is not null);
        }
        if (q8Fallback is not null && parse.GetValue(q8Fallback) is not null)
            throw new LetheException("--q8-fallback applies only with --dtype q8_0");
        return ModelLoader.Load(parse.GetValue(model)!, d is null ? null : DTypes.Parse(d));
    }

    /// <summary>"1,2,3" → ids; a clear error naming the bad item.</summary>
    public static int[] ParseIds(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new LetheException($"{option}: give at least one token id, for example {option} 1,2,3");
        return parts.Select(p => int.TryParse(p, out int id) && id >= 0 ? id
            : throw new LetheException($"{option}: '{p}' is not a token id (a non-negative integer)")).ToArray();
    }
}
