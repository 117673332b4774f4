using System.Diagnostics;
using System.Diagnostics.Metrics;
using RealTimeInference.Fab.Wafers;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Wafers;

/// <summary>Instruments of wafer inspection; labels are the fixed reasons of <see cref="WaferCheck"/>.</summary>
internal sealed class WaferMetrics
{
    private readonly Counter<long> _refused;

    public WaferMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(RequestMetrics.MeterName);
        _refused = meter.CreateCounter<long>(
            "wafer_images_refused_total",
            description: "Images that decoded but were no wafer map, answered 422 not_a_wafer before the model, by reason (blank, no_wafer_region, unreadable_levels).");
    }

    public void Refused(string reason) => _refused.Add(1, new TagList { { "reason", reason } });
}
