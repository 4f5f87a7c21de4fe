// An OpenAI-compatible server over the shipped model, in-process on a free loopback port, for the
// serving tests: the same OpenAiService + OpenAiServer that `lethe serve` starts, with options and an
// intervention of the test's choosing. Disposing stops the server and the decode loop.
using System.Text;
using System.Text.Json.Nodes;
using Lethe.Cli.Serving;
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Serving;
using Lethe.Tests.Tokenizers;
using Lethe.Tokenizers;

namespace Lethe.Tests.Serving;

internal sealed class ServerFixture : IAsyncDisposable
{
    public static string ModelPath => Path.Combine(JsReference.RepoRoot, "models", "lethe-demo");
    private static readonly Lazy<TransformerModel> SharedModel = new(() => ModelLoader.Load(ModelPath));
    public static TransformerModel Model => SharedModel.Value;
    public static Tokenizer Tokenizer { get; } = Tokenizer.Load(ModelPath);

    public BatchScheduler Scheduler { get; }
    public OpenAiServer Server { get; }
    public HttpClient Http { get; }
    public StringWriter Log { get; } = new();

    private ServerFixture(BatchScheduler scheduler, OpenAiServer server)
    {
        Scheduler = scheduler; Server = server;
        Http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(2) };
    }

    public static async Task<ServerFixture> StartAsync(SchedulerOptions? options = null, InferenceIntervention? intervention = null, long maxBody = 1 << 20)
    {
        var scheduler = new BatchScheduler(Model, Tokenizer, intervention, options);
        var log = new StringWriter();
        var server = await OpenAiServer.StartAsync(new OpenAiService(scheduler, "lethe-demo"), new ServerOptions { Port = 0, MaxBodyBytes = maxBody }, log);
        return new ServerFixture(scheduler, server);
    }

    public async Task<(int Status, JsonNode? Body, HttpResponseMessage Response)> PostAsync(string path, string json, CancellationToken cancel = default)
    {
        var response = await Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"), cancel);
        string text = await response.Content.ReadAsStringAsync(cancel);
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), response);
    }

    /// <summary>What the library's generator answers to these prompt ids, cut at the stop strings (the server must answer the same).</summary>
    public static string Expected(int[] ids, int maxNew, IReadOnlyList<string> stops, SamplingOptions? sampling = null)
    {
        var sb = new StringBuilder();
        var stream = new StopTextStream(Tokenizer, stops, p => sb.Append(p));
        new Generator(Model).GenerateSequences(new[] { ids }, new GenerationOptions { MaxNewTokens = maxNew, Sampling = sampling ?? new() }, (_, t, _) => stream.Push(t));
        stream.Flush();
        return sb.ToString();
    }

    /// <summary>
    /// Starts `lethe serve` over the shipped model in its own process on a free loopback port (the
    /// built Lethe.Cli.dll beside the tests) with extra arguments; returns the process and its /v1
    /// address, read from the line it prints. The caller kills the process.
    /// </summary>
    public static async Task<(System.Diagnostics.Process Process, string Url)> StartServeProcessAsync(params string[] extra)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Lethe.Cli.dll"), "serve", ModelPath, "--port", "0" }.Concat(extra))
            psi.ArgumentList.Add(a);
        var server = System.Diagnostics.Process.Start(psi)!;
        string banner = await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2))
            ?? throw new InvalidOperationException("lethe serve exited: " + await server.StandardError.ReadToEndAsync());
        var url = System.Text.RegularExpressions.Regex.Match(banner, @"http://\S+/v1").Value;
        if (url.Length == 0) { server.Kill(true); throw new InvalidOperationException("lethe serve printed no address: " + banner); }
        return (server, url);
    }

    public static async Task StopAsync(System.Diagnostics.Process server)
    {
        if (!server.HasExited) server.Kill(entireProcessTree: true);
        await server.WaitForExitAsync();
        server.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        Scheduler.Dispose();
    }
}
