using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace RealTimeInference.Server.Tests.Health;

/// <summary>
/// The real server process under SIGTERM: every request it took is answered. Its model holds each
/// batch open for a minute, so a thousand requests are surely inside the server when the signal
/// comes; draining runs the held batch at once.
/// </summary>
public sealed partial class SigtermTests
{
    private const int Sigterm = 15;

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);

    [Fact]
    public async Task Sigterm_WithAThousandRequestsInFlight_AnswersEveryQueuedRequest()
    {
        Assert.True(OperatingSystem.IsLinux(), "SIGTERM is a Linux signal.");
        var models = Path.Combine(Path.GetTempPath(), "rti-sigterm-" + Guid.NewGuid().ToString("N"));
        var bundled = Path.Combine(AppContext.BaseDirectory, "models", "sensor-anomaly");
        Directory.CreateDirectory(Path.Combine(models, "sensor-anomaly", "1"));
        File.Copy(Path.Combine(bundled, "1", "model.onnx"), Path.Combine(models, "sensor-anomaly", "1", "model.onnx"));
        File.WriteAllText(
            Path.Combine(models, "sensor-anomaly", "model.json"),
            File.ReadAllText(Path.Combine(bundled, "model.json"))
                .Replace("\"max_queue_delay_ms\": 0", "\"max_queue_delay_ms\": 60000", StringComparison.Ordinal)
                .Replace("\"max_batch_size\": 256", "\"max_batch_size\": 4096", StringComparison.Ordinal));
        try
        {
            using var server = await RealServer.StartAsync("--Inference:ModelsPath=" + models);
            using var client = new HttpClient { BaseAddress = server.Url, Timeout = TimeSpan.FromSeconds(30) };
            // The batch is held open (a minute) until the signal, which runs it at once; a deadline that outlasts the wait keeps the work from expiring.
            client.DefaultRequestHeaders.Add("X-Latency-Class", "yield-forecasting");
            var inFlight = Enumerable.Range(0, 1_000)
                .Select(i => client.PostAsJsonAsync("/predict", new { temperature = 340.0 + (i % 30), pressure = 1013.0, flow_rate = 100.0 }))
                .ToArray();
            using var probe = new HttpClient { BaseAddress = server.Url };
            var queued = Stopwatch.StartNew();
            while (await QueuedRowsAsync(probe) < 1_000)
            {
                Assert.True(queued.Elapsed < TimeSpan.FromSeconds(20), "A thousand requests never queued.");
                await Task.Delay(10);
            }

            Assert.Equal(0, Kill(server.Process.Id, Sigterm));
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
            Assert.True(server.Process.WaitForExit(30_000), "The server did not exit after SIGTERM.");

            // All thousand were queued inside the server before the signal: each is computed and answered.
            Assert.All(answers, s => Assert.Equal(HttpStatusCode.OK, s));
            Assert.Equal(0, server.Process.ExitCode);
        }
        finally
        {
            Directory.Delete(models, recursive: true);
        }
    }

    /// <summary>Rows waiting in the model's queue, as /models reports them.</summary>
    private static async Task<int> QueuedRowsAsync(HttpClient client)
    {
        using var json = JsonDocument.Parse(await client.GetStringAsync("/models/sensor-anomaly"));
        return json.RootElement.GetProperty("queued_rows").GetInt32();
    }
}
