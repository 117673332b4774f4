using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace RealTimeInference.Server.Tests.Health;

/// <summary>
/// The real server process under SIGTERM: every request it took is answered. Its model holds each
/// batch open for two seconds, so a thousand requests are surely inside the server when the
/// signal comes.
/// </summary>
public sealed partial class SigtermTests
{
    private const int Sigterm = 15;

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public async Task Sigterm_WithAThousandRequestsInFlight_AnswersEveryQueuedRequest()
    {
        Assert.True(OperatingSystem.IsLinux(), "SIGTERM is a Linux signal.");
        var url = $"http://127.0.0.1:{FreePort()}";
        var models = Path.Combine(Path.GetTempPath(), "rti-sigterm-" + Guid.NewGuid().ToString("N"));
        var bundled = Path.Combine(AppContext.BaseDirectory, "models", "sensor-anomaly");
        Directory.CreateDirectory(Path.Combine(models, "sensor-anomaly", "1"));
        File.Copy(Path.Combine(bundled, "1", "model.onnx"), Path.Combine(models, "sensor-anomaly", "1", "model.onnx"));
        File.WriteAllText(
            Path.Combine(models, "sensor-anomaly", "model.json"),
            File.ReadAllText(Path.Combine(bundled, "model.json"))
                .Replace("\"max_queue_delay_ms\": 0", "\"max_queue_delay_ms\": 2000", StringComparison.Ordinal)
                .Replace("\"max_batch_size\": 256", "\"max_batch_size\": 4096", StringComparison.Ordinal));
        using var server = Process.Start(new ProcessStartInfo("dotnet")
        {
            ArgumentList =
            {
                Path.Combine(AppContext.BaseDirectory, "RealTimeInference.Server.dll"),
                "--urls", url, "--Serilog:MinimumLevel:Default=Warning", "--Inference:ModelsPath=" + models,
                // The in-server simulator's rows would count among the thousand queued.
                "--Simulator:Enabled=false",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        server.OutputDataReceived += (_, _) => { };
        server.ErrorDataReceived += (_, _) => { };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            var ready = Stopwatch.StartNew();
            while (!await IsReadyAsync(client))
            {
                Assert.True(ready.Elapsed < TimeSpan.FromSeconds(30) && !server.HasExited, "The server never became ready.");
                await Task.Delay(50);
            }

            var inFlight = Enumerable.Range(0, 1_000)
                .Select(i => client.PostAsJsonAsync("/predict", new { temperature = 340.0 + (i % 30), pressure = 1013.0, flow_rate = 100.0 }))
                .ToArray();
            using var probe = new HttpClient { BaseAddress = new Uri(url) };
            var queued = Stopwatch.StartNew();
            while (await QueuedRowsAsync(probe) < 1_000)
            {
                Assert.True(queued.Elapsed < TimeSpan.FromSeconds(20), "A thousand requests never queued.");
                await Task.Delay(10);
            }

            Assert.Equal(0, Kill(server.Id, Sigterm));
            var answers = await Task.WhenAll(inFlight.Select(async request =>
            {
                try
                {
                    using var response = await request;
                    return response.StatusCode;
                }
                catch (HttpRequestException)
                {
                    return (HttpStatusCode)0;
                }
            }));
            Assert.True(server.WaitForExit(30_000), "The server did not exit after SIGTERM.");

            // All thousand were queued inside the server before the signal: each is computed and answered.
            Assert.All(answers, s => Assert.Equal(HttpStatusCode.OK, s));
            Assert.Equal(0, server.ExitCode);
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
            }

            Directory.Delete(models, recursive: true);
        }
    }

    /// <summary>Rows waiting in the model's queue, as /models reports them.</summary>
    private static async Task<int> QueuedRowsAsync(HttpClient client)
    {
        using var json = JsonDocument.Parse(await client.GetStringAsync("/models/sensor-anomaly"));
        return json.RootElement.GetProperty("queued_rows").GetInt32();
    }

    private static async Task<bool> IsReadyAsync(HttpClient client)
    {
        try
        {
            return (await client.GetAsync("/health/ready")).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }
}
