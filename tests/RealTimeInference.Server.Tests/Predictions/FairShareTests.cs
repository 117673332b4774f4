using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace RealTimeInference.Server.Tests.Predictions;

/// <summary>Clients (here: API keys) share a latency class's queue: one client's flood sheds and delays its own work.</summary>
public sealed class FairShareTests(TwoClientsServerFixture server) : IClassFixture<TwoClientsServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    private Task<HttpResponseMessage> PredictAsync(string key, float temperature)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/predict")
        {
            Content = JsonContent.Create(new { temperature, pressure = 1013.0, flow_rate = 100.0 }),
        };
        request.Headers.Add("X-Api-Key", key);
        return _client.SendAsync(request);
    }

    [Fact]
    public async Task AFloodingClient_ShedsItsOwnOldest_AndTheOtherClientsWorkRunsFirst()
    {
        await server.StartAsync();
        server.Hold();
        var running = PredictAsync(TwoClientsServerFixture.FloodKey, 330);
        await server.WaitForRunAsync();
        // One at a time, so the order is known: the light client's request is the oldest queued.
        var queued = new List<Task<HttpResponseMessage>>();
        foreach (var (key, temperature, rows) in new[]
        {
            (TwoClientsServerFixture.LightKey, 341f, 1), (TwoClientsServerFixture.FloodKey, 351f, 2),
            (TwoClientsServerFixture.FloodKey, 352f, 3), (TwoClientsServerFixture.FloodKey, 353f, 4),
        })
        {
            queued.Add(PredictAsync(key, temperature));
            await server.WaitForQueuedAsync(rows);
        }

        // The queue (4 rows) is full: each newcomer sheds the oldest of the client with the most queued.
        var floodMore = PredictAsync(TwoClientsServerFixture.FloodKey, 354);
        var shedFirst = await queued[1];
        var lightMore = PredictAsync(TwoClientsServerFixture.LightKey, 342);
        var shedSecond = await queued[2];

        server.Release();
        await Task.WhenAll(queued.Append(floodMore).Append(lightMore).Append(running));

        foreach (var response in new[] { shedFirst, shedSecond })
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("shed_oldest", problem.RootElement.GetProperty("reason").GetString());
        }

        Assert.All(new[] { queued[0], queued[3], floodMore, lightMore }, r => Assert.Equal(HttpStatusCode.OK, r.Result.StatusCode));
        // Both light requests run in the first batch, ahead of the flood's; one queue in arrival order would have shed the first.
        Assert.Equal([330, 341, 342, 353, 354], server.Scored.ToArray());
    }
}
