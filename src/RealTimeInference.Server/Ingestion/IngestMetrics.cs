using System.Diagnostics;
using System.Diagnostics.Metrics;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Ingestion;

/// <summary>Instruments of the broker transports; labels are the transport and the one outcome vocabulary's labels.</summary>
internal sealed class IngestMetrics
{
    private readonly Counter<long> _messages;
    private readonly Histogram<int> _batchReadings;
    private long _rabbitInFlight, _mqttInFlight, _rabbitLag = -1;

    public IngestMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(RequestMetrics.MeterName);
        _messages = meter.CreateCounter<long>(
            "ingest_messages_total",
            description: "Broker messages handled, by transport (rabbitmq, mqtt) and outcome: ok, the outcome labels of overload (requeued), invalid and too_large (dead-lettered), store_unavailable (requeued: its results could not be stored), broker_error (not acknowledged: delivered again); for MQTT also alert_published and alert_not_published (alert changes sent to fab/<tool_id>/alerts, or not: not connected).");
        _batchReadings = meter.CreateHistogram(
            "ingest_message_readings",
            description: "Readings per broker message.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 10, 100, 1_000, 10_000] });
        meter.CreateObservableGauge(
            "ingest_in_flight_messages",
            () => new[] { new Measurement<long>(Volatile.Read(ref _rabbitInFlight), new KeyValuePair<string, object?>("transport", "rabbitmq")), new Measurement<long>(Volatile.Read(ref _mqttInFlight), new KeyValuePair<string, object?>("transport", "mqtt")) },
            description: "Broker messages received and not yet acknowledged, by transport.");
        meter.CreateObservableGauge(
            "ingest_consumer_lag_messages",
            () => Volatile.Read(ref _rabbitLag) is var lag and >= 0 ? [new Measurement<long>(lag, new KeyValuePair<string, object?>("transport", "rabbitmq"))] : Array.Empty<Measurement<long>>(),
            description: "Messages ready in the RabbitMQ queue and not yet delivered (sampled).");
    }

    public void Handled(string transport, string outcome, int readings)
    {
        _messages.Add(1, new TagList { { "transport", transport }, { "outcome", outcome } });
        if (readings > 0)
        {
            _batchReadings.Record(readings, new TagList { { "transport", transport } });
        }
    }

    public void InFlight(string transport, int delta) =>
        Interlocked.Add(ref transport == Transports.RabbitMq ? ref _rabbitInFlight : ref _mqttInFlight, delta);

    public void Lag(long messages) => Volatile.Write(ref _rabbitLag, messages);
}

internal static class Transports
{
    public const string RabbitMq = "rabbitmq";
    public const string Mqtt = "mqtt";
}
