using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Results.Storage;
using RealTimeInference.Server.Readings;

namespace RealTimeInference.Server.Predictions;

/// <summary>Which way the readings came in.</summary>
internal enum PredictionSource
{
    Http,
    WebSocket,
    Simulator,
    RabbitMq,
    Mqtt,
    Grpc,
}

internal static class PredictionSources
{
    /// <summary>The wire name: the stream's <c>source</c>.</summary>
    public static string Name(this PredictionSource source) => source switch
    {
        PredictionSource.Http => "http",
        PredictionSource.WebSocket => "websocket",
        PredictionSource.RabbitMq => "rabbitmq",
        PredictionSource.Mqtt => "mqtt",
        PredictionSource.Grpc => "grpc",
        _ => "simulator",
    };
}

/// <summary>Where a prediction came from: the way in, the request (message, tick) it answers, and when that began (a <see cref="TimeProvider"/> timestamp).</summary>
internal readonly record struct PredictionOrigin(PredictionSource Source, string RequestId, long Started)
{
    /// <summary>
    /// Set by a transport that acknowledges only what is kept (the brokers): completed true once the
    /// results store holds the predictions (at once with no store), false when they could not be
    /// kept; <see cref="RequestId"/> is then the message id the store keeps each reading of once.
    /// </summary>
    public StoreReceipt? Receipt { get; init; }
}

/// <summary>A batch the model scored, as the sinks see it.</summary>
/// <param name="Origin">Where it came from.</param>
/// <param name="Class">The latency class it was scored in.</param>
/// <param name="Model">The model that answered (the sensor model or its fallback).</param>
/// <param name="Batch">The readings and their scores: the sink copies what it keeps.</param>
/// <param name="Latency">From <see cref="PredictionOrigin.Started"/> to the scores, measured.</param>
internal readonly record struct ScoredBatch(PredictionOrigin Origin, LatencyClass Class, ServedModel Model, SensorBatch Batch, TimeSpan Latency)
{
    public bool IsAnomaly(float score) => score >= Model.Manifest.Threshold;
}

/// <summary>A request's readings with their context, scored by the models their context routes to, as the sinks see them: all of them at once.</summary>
/// <param name="Origin">Where they came from.</param>
/// <param name="Class">The latency class they were scored in.</param>
/// <param name="Batch">The request's readings, with their scores: the sink copies what it keeps.</param>
/// <param name="Runs">The model runs that scored them, each with its readings.</param>
/// <param name="Latency">From <see cref="PredictionOrigin.Started"/> to the scores, measured.</param>
internal readonly record struct ScoredReadings(PredictionOrigin Origin, LatencyClass Class, ReadingBatch Batch, ScoredRun[] Runs, TimeSpan Latency);

/// <summary>The readings of a request that one model run scored.</summary>
/// <param name="Model">The model that answered (the routed one or its fallback).</param>
/// <param name="Rows">Which of the batch's readings it scored, in request order.</param>
/// <param name="Continues">Whether its readings go on from the run before's: the same routed model, whose readings past its <c>max_batch_size</c> take several runs.</param>
internal readonly record struct ScoredRun(ServedModel Model, int[] Rows, bool Continues)
{
    public bool IsAnomaly(float score) => score >= Model.Manifest.Threshold;
}

/// <summary>
/// Where every sensor prediction goes after it is answered (the stream hub, the results store, the alert rules).
/// Called on the request's path: it must copy what it keeps, never wait, and count what it drops.
/// </summary>
internal interface IPredictionSink
{
    /// <summary>Readings of the seed's three fields, scored by the sensor model.</summary>
    void Publish(in ScoredBatch scored);

    /// <summary>Readings with their context and any sensors, scored by the model their context routes to.</summary>
    void Publish(in ScoredReadings scored);
}
