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

    /// <summary>How generation's KV cache holds keys and values (TransformerModel.KvCacheStorage).</summary>
    public static Option<string?> KvCache() => new("--kv-cache") { Description = "How generation's KV cache holds keys and values: f32 (default), bf16 or f16 (half the memory and of what each decoding step reads; each stored key and value rounded once; bf16 also makes long contexts' attention faster on AVX-512 CPUs)" };

    /// <summary>
    /// Loads MODEL with --dtype. q8_0 is accepted only when the verb passes q8Fallback (inference
    /// verbs: generate, eval): the model is loaded as stored, or as bf16 with --q8-fallback bf16,
    /// and every Linear weight gets an int8 copy (TransformerModel.QuantizeLinearWeightsQ8).
    /// kvCache (generate, eval, serve): sets the model's KvCacheStorage.
    /// </summary>
    public static TransformerModel LoadModel(ParseResult parse, Argument<string> model, Option<string?> dtype, Option<string?>? q8Fallback = null, Option<string?>? kvCache = null)
    {
        var storage = KvCacheStorage(parse, kvCache);
        var m = LoadModelWeights(parse, model, dtype, q8Fallback, decoding: kvCache is not null);
        m.KvCacheStorage = storage;
        return m;
    }

    /// <summary>--kv-cache's value (checked before the model loads); f32 when not given.</summary>
    private static DType KvCacheStorage(ParseResult parse, Option<string?>? kvCache)
    {
        if (kvCache is null || parse.GetValue(kvCache) is not { } value) return Lethe.Tensors.DType.F32;
        if (IsQ8(value)) throw new LetheException("--kv-cache q8_0: the KV cache is held in f32, bf16 or f16; q8_0 is for weights (--dtype q8_0)");
        try { return DTypes.Parse(value); }
        catch (LetheException) { throw new LetheException($"--kv-cache: '{value}' is not a cache type; use f32, bf16 or f16"); }
    }

    /// <summary>The weights; decoding (the verbs that take --kv-cache: generate, eval, serve) loads float weights with ModelLoader.LoadForDecoding.</summary>
    private static TransformerModel LoadModelWeights(ParseResult parse, Argument<string> model, Option<string?> dtype, Option<string?>? q8Fallback, bool decoding)
    {
        string? d = parse.GetValue(dtype);
        if (q8Fallback is not null && IsQ8(d))
        {
            string? fallback = parse.GetValue(q8Fallback);
            if (fallback is not null && !fallback.Equals("bf16", StringComparison.OrdinalIgnoreCase))
                throw new LetheException($"--q8-fallback: '{fallback}' is not supported; the only fallback is bf16 (--q8-fallback bf16)");
            return ModelLoader.LoadQ8(parse.GetValue(model)!, keepOthersInBf16: fallback is not null);
        }
        if (q8Fallback is not null && parse.GetValue(q8Fallback) is not null)
            throw new LetheException("--q8-fallback applies only with --dtype q8_0");
        return decoding ? ModelLoader.LoadForDecoding(parse.GetValue(model)!, FloatDType(parse, dtype)) : ModelLoader.Load(parse.GetValue(model)!, FloatDType(parse, dtype));
    }

    /// <summary>
    /// --dtype of a verb that loads float weights only (f32, f16 or bf16; null when not given):
    /// q8_0 is refused with the reason and the verbs that take it.
    /// </summary>
    public static DType? FloatDType(ParseResult parse, Option<string?> dtype)
    {
        string? d = parse.GetValue(dtype);
        if (IsQ8(d))
            throw new LetheException($"--dtype q8_0: `{parse.CommandResult.Command.Name}` does not take int8 weights (q8_0 is for inference: generate, eval, serve); use --dtype f32, f16 or bf16");
        return d is null ? null : DTypes.Parse(d);
    }

    /// <summary>
    /// --dtype for the verbs that update weights (train, unlearn ga … adaptive-rmu). They train in
    /// fp32 whatever the file holds, so the option exists to say so: f32 is accepted (it changes
    /// nothing) and anything else is refused by CheckTrainingDType with the reason.
    /// </summary>
    public static Option<string?> TrainingDType() => new("--dtype") { Description = "Training runs in fp32 (the weights are widened on load): f32 is the only value; bf16, f16 and q8_0 are for inference (generate, eval, serve)" };

    /// <summary>Refuses a --dtype other than f32 on a verb that updates weights, naming the verb and what to do instead.</summary>
    public static void CheckTrainingDType(string? d, string verb)
    {
        if (d is null) return;
        if (IsQ8(d))
            throw new LetheException($"--dtype q8_0: `{verb}` updates the model's weights, and int8 weights are for inference only (generate, eval, serve); "
                + "training runs in fp32: leave --dtype out (the weights are widened to fp32 on load), and give --dtype q8_0 to the verbs that run the result");
        if (DTypes.Parse(d) != Lethe.Tensors.DType.F32)
            throw new LetheException($"--dtype {d}: `{verb}` trains in fp32 (the weights are widened to fp32 on load, and the result is written in fp32); "
                + "leave --dtype out, or convert the result afterwards (`lethe convert --type bf16`) or load it with --dtype in the verbs that run it");
    }

    /// <summary>Whether a --dtype value asks for int8 weights (q8_0, any case).</summary>
    private static bool IsQ8(string? d) => d is not null && d.Equals("q8_0", StringComparison.OrdinalIgnoreCase);

    /// <summary>"1,2,3" → ids; a clear error naming the bad item.</summary>
    public static int[] ParseIds(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new LetheException($"{option}: give at least one token id, for example {option} 1,2,3");
        return parts.Select(p => int.TryParse(p, out int id) && id >= 0 ? id
            : throw new LetheException($"{option}: '{p}' is not a token id (a non-negative integer)")).ToArray();
    }
}
