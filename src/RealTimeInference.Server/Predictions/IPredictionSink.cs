using RealTimeInference.Inference.Models;

namespace RealTimeInference.Server.Predictions;

/// <summary>Which way the readings came in.</summary>
internal enum PredictionSource
{
    Http,
    WebSocket,
    Simulator,
}

internal static class PredictionSources
{
    /// <summary>The wire name: the stream's <c>source</c>.</summary>
    public static string Name(this PredictionSource source) => source switch
    {
        PredictionSource.Http => "http",
        PredictionSource.WebSocket => "websocket",
        _ => "simulator",
    };
}

/// <summary>
/// Where every sensor prediction goes after it is answered (the stream hub; later the results
/// store and alert rules). Called on the request's path: it must copy what it keeps, never wait,
/// and count what it drops.
/// </summary>
internal interface IPredictionSink
{
    void Publish(PredictionSource source, ServedModel model, SensorBatch batch);
}
