// The HTTP side of `lethe serve`: ASP.NET Core (Kestrel) hosting Lethe.Serving.OpenAiService on one
// address (loopback unless told otherwise). It moves bytes and maps errors, nothing more:
//   - every response carries x-request-id;
//   - a body over the size limit → 413, bad input → 400, a full queue → 429, each with OpenAI's
//     error object; any other exception → 500 whose message names the request id (also logged to
//     stderr with the exception), and the server keeps serving;
//   - a client that disconnects cancels its request (RequestAborted), which leaves the decode batch
//     at the next step;
//   - streamed responses are server-sent events, flushed after every chunk.
// ASP.NET lives here, in the command-line tool, so that the Lethe library does not depend on it.
using System.Net;
using Lethe.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lethe.Cli.Serving;

public sealed record ServerOptions
{
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>0 = any free port (the address the server got is in OpenAiServer.Address).</summary>
    public int Port { get; init; } = 8000;
    /// <summary>Largest request body in bytes.</summary>
    public long MaxBodyBytes { get; init; } = 1 << 20;

    public void Validate()
    {
        if (Port is < 0 or > 65535) throw new LetheException($"--port must lie in 0..65535, got {Port}");
        if (MaxBodyBytes < 1024) throw new LetheException($"--max-body must be at least 1024 bytes, got {MaxBodyBytes}");
        ParseHost(Host);
    }

    internal static IPAddress ParseHost(string host) =>
        host == "localhost" ? IPAddress.Loopback
        : IPAddress.TryParse(host, out var ip) ? ip
        : throw new LetheException($"--host must be an IP address to listen on (127.0.0.1 for this machine only, 0.0.0.0 for every interface) or localhost, got '{host}'");
}

public sealed class OpenAiServer : IAsyncDisposable
{
    private readonly WebApplication app;

    private OpenAiServer(WebApplication app, Uri address) { this.app = app; Address = address; }

    /// <summary>Where the server listens (the real port when 0 was asked for).</summary>
    public Uri Address { get; }

    public static async Task<OpenAiServer> StartAsync(OpenAiService service, ServerOptions options, TextWriter log, CancellationToken cancel = default)
    {
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            k.AddServerHeader = false;
            k.Listen(ServerOptions.ParseHost(options.Host), options.Port);
        });
        var app = builder.Build();
        app.Use((ctx, next) => Guard(ctx, next, log));
        app.MapGet("/v1/models", ctx => WriteJson(ctx, 200, service.ModelsJson()));
        app.MapPost("/v1/chat/completions", ctx => Complete(ctx, service, chat: true));
        app.MapPost("/v1/completions", ctx => Complete(ctx, service, chat: false));
        app.MapFallback(ctx => WriteJson(ctx, 404, OpenAiWire.ErrorJson($"no endpoint {ctx.Request.Method} {ctx.Request.Path}; Lethe serves GET /v1/models, POST /v1/chat/completions and POST /v1/completions", "invalid_request_error", null, "not_found")));
        try { await app.StartAsync(cancel); }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new LetheException($"cannot listen on {options.Host}:{options.Port}: {e.Message}; choose another --port (0 picks a free one) or stop what uses it");
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new OpenAiServer(app, new Uri(address.Replace("[::]", "localhost")));
    }

    /// <summary>Request id, and every failure turned into an OpenAI error response; the server never goes down with a request.</summary>
    private static async Task Guard(HttpContext ctx, RequestDelegate next, TextWriter log)
    {
        string id = "req_" + Guid.NewGuid().ToString("N")[..24];
        ctx.Response.Headers["x-request-id"] = id;
        try { await next(ctx); }
        catch (OpenAiError e) { await Fail(ctx, e.Status, e.ToJson()); }
        catch (BadHttpRequestException e)
        {
            string message = e.StatusCode == 413 ? "the request body is too large for this server (--max-body)" : $"bad HTTP request: {e.Message}";
            await Fail(ctx, e.StatusCode, OpenAiWire.ErrorJson(message, "invalid_request_error", null, e.StatusCode == 413 ? "request_too_large" : null));
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested) { /* the client went away; its job has left the batch */ }
        catch (Exception e)
        {
            lock (log) log.WriteLine($"lethe serve: internal error in request {id} ({ctx.Request.Method} {ctx.Request.Path}): {e}");
            await Fail(ctx, 500, OpenAiWire.ErrorJson($"internal error in Lethe (request id {id}); the server logged it and keeps serving", "server_error", null, "internal_error"));
        }
    }

    /// <summary>An error response, or, when a stream has already begun, an error event that ends it.</summary>
    private static async Task Fail(HttpContext ctx, int status, string json)
    {
        try
        {
            if (!ctx.Response.HasStarted) await WriteJson(ctx, status, json);
            else if (ctx.Response.ContentType == "text/event-stream") await ctx.Response.WriteAsync($"data: {json}\n\n");
        }
        catch (Exception) when (ctx.RequestAborted.IsCancellationRequested) { /* nobody left to tell */ }
    }

    private static Task WriteJson(HttpContext ctx, int status, string json)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(json);
    }

    private static async Task Complete(HttpContext ctx, OpenAiService service, bool chat)
    {
        var body = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(body, ctx.RequestAborted);
        var prepared = service.Prepare(chat, body.GetBuffer().AsSpan(0, (int)body.Length));
        var run = service.Submit(prepared, ctx.RequestAborted);
        if (!prepared.Stream)
        {
            await WriteJson(ctx, 200, await service.CompleteAsync(run, ctx.RequestAborted));
            return;
        }
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "text/event-stream";
        ctx.Response.Headers.CacheControl = "no-cache";
        await foreach (var data in service.StreamAsync(run, ctx.RequestAborted))
        {
            await ctx.Response.WriteAsync($"data: {data}\n\n", ctx.RequestAborted);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
        }
    }

    /// <summary>Runs until cancelled (Ctrl-C), then stops accepting requests.</summary>
    public async Task RunUntilAsync(CancellationToken cancel)
    {
        try { await Task.Delay(Timeout.Infinite, cancel); }
        catch (OperationCanceledException) { }
        await app.StopAsync(CancellationToken.None);
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync();
}
