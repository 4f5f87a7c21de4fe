using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tokenizers;
using Xunit;

namespace Lethe.Tests.Models;

public class TextGeneratorTests
{
    private static string Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "llama");
    private static readonly GenerationOptions Options = new() { MaxNewTokens = 16, EosIds = Array.Empty<int>() };

    [Fact]
    public async Task StreamedPiecesConcatenateToTheDecodedTokens()
    {
        using var m = ModelLoader.Load(Dir);
        var tok = Tokenizer.Load(Dir);
        var gen = new TextGenerator(m, tok);
        var pieces = new List<string>();
        await foreach (var p in gen.StreamAsync("hello world", Options)) pieces.Add(p);
        var ids = new Generator(m).Generate(new[] { gen.EncodePrompt("hello world", chat: false) }, Options)[0];
        Assert.Equal(tok.Decode(ids, skipSpecialTokens: true), string.Concat(pieces));
        Assert.True(pieces.Count > 1, "the text should arrive in several pieces");
    }

    /// <summary>
    /// The timings count the prompt's tokens and every new one (here all 16: no end-of-sequence id),
    /// and -v's line says them with a decoding rate that matches the decoding time.
    /// </summary>
    [Fact]
    public void TimingsCountThePromptAndTheNewTokens()
    {
        using var m = ModelLoader.Load(Dir);
        var gen = new TextGenerator(m, Tokenizer.Load(Dir));
        Assert.Null(gen.LastTimings);
        gen.Generate("hello world", Options);
        var t = gen.LastTimings!;
        Assert.Equal(gen.EncodePrompt("hello world", chat: false).Length, t.PromptTokens);
        Assert.Equal(16, t.NewTokens);
        Assert.True(t.FirstTokenSeconds > 0 && t.DecodeSeconds > 0, $"{t}");
        Assert.Equal(15 / t.DecodeSeconds, t.DecodeTokensPerSecond, 6);
        string line = Lethe.Cli.Commands.GenerateCommand.Describe(t);
        Assert.StartsWith($"prompt {t.PromptTokens} tokens; 16 new tokens, the first after ", line);
        Assert.Contains($"then {t.DecodeTokensPerSecond:F0} tokens/s", line);
        Assert.True(double.IsNaN((t with { NewTokens = 1 }).DecodeTokensPerSecond));
        Assert.DoesNotContain("tokens/s", Lethe.Cli.Commands.GenerateCommand.Describe(t with { NewTokens = 1 }));
    }

    [Fact]
    public void StopStringEndsTheTextBeforeIt()
    {
        using var m = ModelLoader.Load(Dir);
        var gen = new TextGenerator(m, Tokenizer.Load(Dir));
        string full = gen.Generate("hello world", Options);
        Assert.True(full.Length >= 8, $"need some text to cut: '{full}'");
        string stop = full.Substring(5, 3);
        int first = full.IndexOf(stop, StringComparison.Ordinal);
        Assert.Equal(full[..first], gen.Generate("hello world", Options, new[] { stop }));
    }
}
