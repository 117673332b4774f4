using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;

namespace RealTimeInference.Deployment.Tests.Topology;

/// <summary>Three replicas behind nginx, as compose runs them: spread, drain, crash, streams.</summary>
[Collection(TopologyCollection.Name)]
public sealed class TopologyTests(TopologyFixture fixture)
{
    [Fact]
    public async Task PredictLoad_ReplicaSigtermedThenAnotherSigkilled_NoRequestFails_AndEveryReplicaServed()
    {
        var before = await Task.WhenAll(Enumerable.Range(0, TopologyFixture.ReplicaCount).Select(i => ServedCounter.PredictRequestsAsync(fixture.Replica(i))));
        try
        {
            await using (var load = new PredictLoad(fixture.Nginx, loops: 8))
            {
                await load.WaitForMoreAsync(300);
                // Spread: least_conn gave each replica work (its own counter moved).
                for (var i = 0; i < TopologyFixture.ReplicaCount; i++)
                {
                    Assert.True(await ServedCounter.PredictRequestsAsync(fixture.Replica(i)) > before[i], $"Replica {i + 1} served no /predict through nginx.");
                }

                // Graceful stop: it drains (503 while in-flight work finishes), nginx retries elsewhere.
                var drained = fixture.ReplicaProcess(0);
                drained.Signal("TERM");
                using (var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
                {
                    await drained.Process.WaitForExitAsync(exit.Token);
                }

                Assert.True(drained.Process.ExitCode == 0, $"SIGTERM: exit code {drained.Process.ExitCode}\n{drained.Tail()}");
                await load.WaitForMoreAsync(300);

                // A crash: connections reset mid-request, nginx passes the request to the live replica.
                var servedBefore = await ServedCounter.PredictRequestsAsync(fixture.Replica(2));
                fixture.ReplicaProcess(1).Process.Kill();
                await fixture.ReplicaProcess(1).Process.WaitForExitAsync();
                await load.WaitForMoreAsync(300);
                Assert.True(await ServedCounter.PredictRequestsAsync(fixture.Replica(2)) >= servedBefore + 300, "The last replica did not take over the load.");
                Assert.True(load.Failures.IsEmpty, $"{load.Failures.Count} of {load.Succeeded + load.Failures.Count} requests failed: {string.Join("; ", load.Failures.Take(5))}");
            }
        }
        finally
        {
            // The other tests of the collection expect all three.
            await Task.WhenAll(fixture.StartReplicaAsync(0), fixture.StartReplicaAsync(1));
        }
    }

    [Fact]
    public async Task DeadlineBurst_ThroughNginx_EveryReplicaAnswers503_TheNextRequestsStillReachThem()
    {
        using var client = new HttpClient { BaseAddress = fixture.Nginx };
        // Deadlines no queue can meet: every replica answers 503, which nginx counts against each.
        var burst = await Task.WhenAll(Enumerable.Range(0, 6).Select(async _ =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/predict") { Content = JsonContent.Create(PredictLoad.Reading) };
            request.Headers.Add("X-Deadline-Ms", "0.001");
            using var response = await client.SendAsync(request);
            return ((int)response.StatusCode, response.Headers.RetryAfter is not null);
        }));
        Assert.All(burst, answer => Assert.Equal((503, true), answer));

        for (var i = 0; i < 10; i++)
        {
            using var response = await client.PostAsJsonAsync("/predict", PredictLoad.Reading);
            Assert.True(response.IsSuccessStatusCode, $"After the burst: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    [Fact]
    public async Task StreamPredictions_ThroughNginx_GetsTheEventOfAPredictionPostedThroughNginx()
    {
        using var client = new HttpClient { BaseAddress = fixture.Nginx, Timeout = Timeout.InfiniteTimeSpan };
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        // One stream per replica: least_conn sends each new stream to a replica holding none, so the
        // prediction, wherever nginx sends it, has a subscriber on its replica.
        var streams = new List<StreamReader>();
        var responses = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < TopologyFixture.ReplicaCount; i++)
            {
                var response = await client.GetAsync("/stream-predictions", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
                responses.Add(response);
                Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
                streams.Add(new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token)));
            }

            var sensor = "topology-" + Guid.NewGuid().ToString("N")[..8];
            using var posted = await client.PostAsJsonAsync(
                "/predict", new { temperature = 351.5, pressure = 1010.0, flow_rate = 98.0, tool_id = "etch-01", sensor_id = sensor }, cancel.Token);
            posted.EnsureSuccessStatusCode();
            var seen = await Task.WhenAny(streams.Select(s => ReadUntilAsync(s, sensor, cancel.Token)));
            Assert.Contains(sensor, await seen);
        }
        finally
        {
            await cancel.CancelAsync();
            streams.ForEach(s => s.Dispose());
            responses.ForEach(r => r.Dispose());
        }
    }

    [Fact]
    public async Task WsPredict_ThroughNginx_PipelinedReadings_OneAnswerEachInOrder()
    {
        var readings = Enumerable.Range(0, 20).Select(i => new { temperature = 300.0 + (i * 10), pressure = 1012.5, flow_rate = 99.8 }).ToArray();
        // The expected answers: a prediction is a pure function of the reading.
        using var client = new HttpClient { BaseAddress = fixture.Nginx };
        var expected = new List<double>();
        foreach (var reading in readings)
        {
            using var response = await client.PostAsJsonAsync("/predict", reading);
            response.EnsureSuccessStatusCode();
            expected.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("prediction").GetDouble());
        }

        Assert.True(expected.Distinct().Count() > 1, "The readings should not all score alike, or order would not show.");
        using var socket = new ClientWebSocket();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{fixture.NginxPort}/ws/predict"), cancel.Token);
        foreach (var reading in readings)
        {
            await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(reading), WebSocketMessageType.Text, endOfMessage: true, cancel.Token);
        }

        var answers = new List<double>();
        var buffer = new byte[4096];
        while (answers.Count < readings.Length)
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult received;
            do
            {
                received = await socket.ReceiveAsync(buffer, cancel.Token);
                Assert.NotEqual(WebSocketMessageType.Close, received.MessageType);
                message.Write(buffer, 0, received.Count);
            }
            while (!received.EndOfMessage);
            answers.Add(JsonDocument.Parse(message.ToArray()).RootElement.GetProperty("prediction").GetDouble());
        }

        Assert.Equal(expected, answers);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cancel.Token);
    }

    [Fact]
    public async Task HealthCheckMode_ExitsZeroWhenLive_OneWhenRefused_TwoForABadUrl()
    {
        Assert.Equal(0, await HealthCheckAsync(new Uri(fixture.Replica(2), "/health/live").ToString()));
        Assert.Equal(1, await HealthCheckAsync($"http://127.0.0.1:{TopologyFixture.FreePort()}/health/live"));
        Assert.Equal(2, await HealthCheckAsync("not a url"));
    }

    private async Task<int> HealthCheckAsync(string url) =>
        (await CommandLine.RunAsync(TimeSpan.FromSeconds(30), "dotnet", Path.Combine(fixture.AppDir, "RealTimeInference.Server.dll"), "--health-check", url)).ExitCode;

    private static async Task<string> ReadUntilAsync(StreamReader stream, string text, CancellationToken cancel)
    {
        while (await stream.ReadLineAsync(cancel) is { } line)
        {
            if (line.StartsWith("data:", StringComparison.Ordinal) && line.Contains(text, StringComparison.Ordinal))
            {
                return line;
            }
        }

        return "(stream ended)";
    }
}
