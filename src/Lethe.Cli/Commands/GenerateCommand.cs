// `lethe generate MODEL --prompt TEXT [sampling options] [--chat] [--stop S]... [--adapter FILE]...`:
// streams the continuation to stdout as it is produced. With unlearning adapters (`lethe unlearn`)
// their hooks act in every forward pass; an adapter that can abstain (Key Space Detection) may
// replace the whole answer by its refusal at any token, so the answer is then printed when complete.
using System.CommandLine;
using Lethe.Models.Generation;
using Lethe.Tokenizers;
using Lethe.Unlearning;

namespace Lethe.Cli.Commands;

public static class GenerateCommand
{
    public static Command Build()
    {
        var model = CliArgs.Model();
        var dtype = CliArgs.DType();
        var q8Fallback = CliArgs.Q8Fallback();
        var kvCache = CliArgs.KvCache();
        var prompt = new Option<string>("--prompt", "-p") { Description = "The prompt text", Required = true };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Tokens to generate at most", DefaultValueFactory = _ => 128 };
        var temperature = new Option<float>("--temperature") { Description = "0 = greedy", DefaultValueFactory = _ => 0f };
        var topK = new Option<int>("--top-k") { Description = "Keep the k most likely tokens (0 = off)" };
        var topP = new Option<float>("--top-p") { Description = "Nucleus sampling mass (1 = off)", DefaultValueFactory = _ => 1f };
        var minP = new Option<float>("--min-p") { Description = "Drop tokens below min-p × the top probability (0 = off)" };
        var repetition = new Option<float>("--repetition-penalty") { Description = "> 1 discourages repeats (1 = off)", DefaultValueFactory = _ => 1f };
        var stop = new Option<string[]>("--stop") { Description = "Stop when this text appears (repeatable)", AllowMultipleArgumentsPerToken = false };
        var chat = new Option<bool>("--chat") { Description = "Wrap the prompt as a user message with the tokenizer's chat template" };
        var adapters = new Option<string[]>("--adapter") { Description = "Apply an unlearning adapter written by `lethe unlearn` (repeatable)" };
        var cmd = new Command("generate", "Generate text from a prompt, streaming to stdout")
            { model, dtype, q8Fallback, kvCache, prompt, maxNew, temperature, topK, topP, minP, repetition, stop, chat, adapters };
        cmd.SetAction(async (parse, cancel) =>
        {
            var options = new GenerationOptions
            {
                MaxNewTokens = parse.GetValue(maxNew),
                Sampling = new SamplingOptions
                {
                    Temperature = parse.GetValue(temperature), TopK = parse.GetValue(topK), TopP = parse.GetValue(topP),
                    MinP = parse.GetValue(minP), RepetitionPenalty = parse.GetValue(repetition), Seed = parse.GetValue(LetheCli.Seed) ?? 0,
                },
            };
            options.Sampling.Validate();
            using var m = CliArgs.LoadModel(parse, model, dtype, q8Fallback, kvCache);
            var tokenizer = Tokenizer.Load(parse.GetValue(model)!);
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(adapters) is { Length: > 0 } adapterFiles)
            {
                var intervention = InferenceIntervention.Combine(adapterFiles.Select(f => UnlearningAdapter.Load(f).CreateIntervention(m)).ToArray());
                if (intervention.CanAbstain)
                {
                    var answering = new TextGenerator(m, tokenizer);
                    var answer = answering.Answer(parse.GetValue(prompt)!, options with { Intervention = intervention }, parse.GetValue(stop), parse.GetValue(chat), cancel);
                    output.WriteLine(answer.Text);
                    output.Flush();
                    if (parse.GetValue(LetheCli.Verbose))
                    {
                        if (answer.Abstained) parse.InvocationConfiguration.Error.WriteLine("(the adapter abstained: the query fell in the forget skill's key-space box)");
                        if (answering.LastTimings is { } at) parse.InvocationConfiguration.Error.WriteLine(Describe(at));
                        parse.InvocationConfiguration.Error.WriteLine(m.MeasureWeightMemory());
                    }
                    return 0;
                }
                options = options with { Intervention = intervention };
            }
            var generator = new TextGenerator(m, tokenizer);
            await foreach (var piece in generator.StreamAsync(parse.GetValue(prompt)!, options, parse.GetValue(stop), parse.GetValue(chat), cancel))
            {
                output.Write(piece);
                output.Flush();
            }
            output.WriteLine();
            output.Flush();
            if (parse.GetValue(LetheCli.Verbose) && generator.LastTimings is { } t)
            {
                parse.InvocationConfiguration.Error.WriteLine(Describe(t));
                parse.InvocationConfiguration.Error.WriteLine(m.MeasureWeightMemory());
            }
            return 0;
        });
        return cmd;
    }

    /// <summary>`-v`'s line on stderr: the prompt, the time to the first new token, the decoding rate.</summary>
    public static string Describe(GenerationTimings t)
    {
        var line = FormattableString.Invariant($"prompt {t.PromptTokens} tokens; {t.NewTokens} new tokens, the first after {t.FirstTokenSeconds * 1e3:F1} ms");
        return double.IsNaN(t.DecodeTokensPerSecond) ? line
            : line + FormattableString.Invariant($", then {t.DecodeTokensPerSecond:F0} tokens/s ({t.DecodeSeconds * 1e6 / (t.NewTokens - 1):F0} µs a token)");
    }
}
