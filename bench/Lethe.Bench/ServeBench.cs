// `serve` suite: a bounded load test of the OpenAI-compatible server. The server (the same
// OpenAiService + OpenAiServer that `lethe serve` starts) runs in this process on a free 127.0.0.1
// port over --model (default: the shipped models/lethe-demo); for each client count in --clients
// (default 1,4,8), that many HTTP clients send --requests completions between them (each a fixed
// prompt of the list below, --max-tokens new tokens, sampled at temperature 0.8 with the request's
// index as seed, a stop string that never appears, so lengths vary only by end-of-sequence ids).
// Reported per client count: completion tokens per second of wall time (usage.completion_tokens
// summed), p50 and p99 request latency, and the speedup over the first count's tokens/s. One warm-up
// request precedes the runs. Clients and server share the machine, as on a laptop. --temperature T
// (default 0.8; 0 = greedy). --scheduler sends the same requests to the service without HTTP;
// --loop times the decode loop alone (R sequences decoding together, no HTTP, no joins).
// One JSON object per line: {"bench":"serve","clients":..,"requests":..,"tokens":..,"seconds":..,
// "tokens_per_s":..,"p50_ms":..,"p99_ms":..,"speedup":..,"cpu":..}.
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Lethe.Cli.Serving;
using Lethe.Models;
using Lethe.Serving;
using Lethe.Tokenizers;

namespace Lethe.Bench;

public static class ServeBench
{
    private static readonly string[] Prompts =
    {
        "The river", "Question: What is 7 + 5?\nAnswer:", "Mira walked to the market", "def add(a, b):",
        "Question: Which city lies on the coast?\nAnswer:", "Once upon a time", "The capital of", "Der Fluss",
    };

    public static int Run(string[] args)
    {
        var o = new BenchOptions(args);
        string model = o.Get("model") ?? Path.Combine(Lethe.Tests.Tokenizers.JsReference.RepoRoot, "models", "lethe-demo");
        int requests = o.Int("requests", 96), maxTokens = o.Int("max-tokens", 64);
        double temperature = o.Get("temperature") is { } t ? double.Parse(t, System.Globalization.CultureInfo.InvariantCulture) : 0.8;
        // As `lethe serve`: all cores but one for the kernels unless --threads says otherwise.
        Lethe.Tensors.Engine.Threads = o.Get("threads") is not null ? o.Int("threads", 1) : Lethe.Cli.Commands.ServeCommand.ServeThreads();
        var clientCounts = (o.Get("clients") ?? "1,4,8").Split(',').Select(c => int.TryParse(c, out int n) && n > 0 ? n : throw new LetheException($"bench serve: --clients takes positive integers separated by commas, got '{c}'")).ToArray();
        using var m = ModelLoader.Load(model);
        if (o.Has("loop")) return Loop(m, Tokenizer.Load(model), clientCounts, maxTokens);
        using var scheduler = new BatchScheduler(m, Tokenizer.Load(model), null, new SchedulerOptions { MaxBatch = Math.Max(16, clientCounts.Max()), MaxTokens = maxTokens });
        var service = direct = new OpenAiService(scheduler, OpenAiService.ModelIdOf(model));
        var server = OpenAiServer.StartAsync(service, new ServerOptions { Port = 0 }, Console.Error).GetAwaiter().GetResult();
        try
        {
            using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(10) };
            Send(http, service.ModelId, 0, maxTokens, temperature).GetAwaiter().GetResult();   // warm-up (JIT, arenas)
            useDirect = o.Has("scheduler");
            double? baseline = null;
            foreach (int clients in clientCounts)
            {
                var (tokens, seconds, latencies) = Load(http, service.ModelId, clients, requests, maxTokens, temperature).GetAwaiter().GetResult();
                double rate = tokens / seconds;
                baseline ??= rate;
                JsonLine.Print(("bench", "serve"), ("clients", clients), ("requests", requests), ("max_tokens", maxTokens), ("temperature", temperature), ("tokens", tokens),
                    ("seconds", Math.Round(seconds, 3)), ("tokens_per_s", Math.Round(rate, 1)),
                    ("p50_ms", Math.Round(Timing.Percentile(latencies, 0.50), 1)), ("p99_ms", Math.Round(Timing.Percentile(latencies, 0.99), 1)),
                    ("speedup", Math.Round(rate / baseline.Value, 2)), ("threads", Lethe.Tensors.Engine.Threads), ("cpu", Machine.CpuModel()));
            }
        }
        finally { server.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
        return 0;
    }

    private static async Task<(long Tokens, double Seconds, List<double> LatenciesMs)> Load(HttpClient http, string modelId, int clients, int requests, int maxTokens, double temperature)
    {
        int next = -1;
        long tokens = 0;
        var latencies = new List<double>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            for (int i; (i = Interlocked.Increment(ref next)) < requests;)
            {
                var t = Stopwatch.StartNew();
                int n = await Send(http, modelId, i, maxTokens, temperature);
                double ms = t.Elapsed.TotalMilliseconds;
                Interlocked.Add(ref tokens, n);
                lock (latencies) latencies.Add(ms);
            }
        })));
        return (tokens, clock.Elapsed.TotalSeconds, latencies);
    }

    /// <summary>
    /// The decode loop alone, no HTTP (--loop): for each count R, R sequences (the prompts above)
    /// decode --max-tokens tokens together, greedy, end-of-sequence ignored; tokens per second of
    /// wall time and per second of this process's CPU time (steadier on a loaded machine).
    /// </summary>
    private static int Loop(TransformerModel m, Tokenizer tokenizer, int[] counts, int maxTokens)
    {
        double? baseline = null;
        foreach (int rows in counts.Prepend(1))
        {
            using var batch = new Lethe.Models.Generation.DecodeBatch(m, new() { MaxRows = rows, Capacity = m.Config.MaxPositions, EosIds = Array.Empty<int>() });
            for (int i = 0; i < rows; i++)
                batch.Add(new Lethe.Models.Generation.DecodeSequence(tokenizer.Encode(Prompts[i % Prompts.Length], addSpecialTokens: true), maxTokens, new()));
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            while (batch.Count > 0) batch.Step();
            double wall = clock.Elapsed.TotalSeconds, cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
            if (baseline is null) { baseline = 0; continue; }   // the first run of 1 warms up
            double rate = rows * maxTokens / wall;
            if (baseline == 0) baseline = rate;
            JsonLine.Print(("bench", "serve-loop"), ("rows", rows), ("tokens", rows * maxTokens), ("seconds", Math.Round(wall, 3)), ("tokens_per_s", Math.Round(rate, 1)),
                ("tokens_per_cpu_s", Math.Round(rows * maxTokens / cpu, 1)), ("speedup", Math.Round(rate / baseline.Value, 2)), ("cpu", Machine.CpuModel()));
        }
        return 0;
    }

    /// <summary>One completion request; its completion token count.</summary>
    // --scheduler: requests go to the OpenAiService directly (same JSON in and out, no HTTP), to
    // separate the HTTP side's cost from the decode loop's.
    private static OpenAiService? direct;
    private static bool useDirect;

    /// <summary>One completion request; its completion token count.</summary>
    private static async Task<int> Send(HttpClient http, string modelId, int index, int maxTokens, double temperature)
    {
        var body = new JsonObject
        {
            ["model"] = modelId, ["prompt"] = Prompts[index % Prompts.Length], ["max_tokens"] = maxTokens,
            ["temperature"] = temperature, ["seed"] = index, ["stop"] = "\u0001never\u0001",
        }.ToJsonString();
        string text;
        if (useDirect)
            text = await direct!.CompleteAsync(direct.Submit(direct.Prepare(false, Encoding.UTF8.GetBytes(body)), default), default);
        else
        {
            using var response = await http.PostAsync("/v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));
            text = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode) throw new LetheException($"bench serve: the server answered {(int)response.StatusCode}: {text}");
        }
        return (int)JsonNode.Parse(text)!["usage"]!["completion_tokens"]!;
    }

}
