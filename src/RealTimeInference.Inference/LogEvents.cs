namespace RealTimeInference.Inference;

/// <summary>
/// Every log event id of the engine and the server, one range per feature (as YARP's EventIds),
/// so an id names one event wherever it is seen.
/// </summary>
public static class LogEvents
{
    // 1000-1099 models: loading, reloading, watching.
    public const int ModelLoaded = 1000;
    public const int ModelLoadFailed = 1001;
    public const int NoModelsFolder = 1002;
    public const int ModelReloaded = 1003;
    public const int ModelReloadFailed = 1004;
    public const int CudaUnavailable = 1005;
    public const int ModelEvicted = 1006;
    public const int ModelsWatched = 1010;
    public const int ModelFilesChanged = 1011;

    // 1100-1199 batching.
    public const int BatchFailed = 1100;
    public const int DispatchFault = 1101;

    // 1200-1299 resilience.
    public const int BreakerOpened = 1200;
    public const int BreakerHalfOpened = 1201;
    public const int BreakerClosed = 1202;

    // 2000-2099 the results store.
    public const int ResultsWriteRetrying = 2000;
    public const int ResultsDropped = 2001;
    public const int ResultsRetentionFailed = 2002;
    public const int AlertNotKept = 2010;
    public const int AlertSinkUnreachable = 2020;
    public const int AlertOutboxUnreadable = 2021;

    // 3000-3099 streaming.
    public const int StreamPumpFault = 3000;

    // 4000-4099 wafers.
    public const int WebcamOpened = 4000;
    public const int WebcamClosed = 4001;

    // 4100-4199 the in-server simulator.
    public const int SimulatorStarted = 4100;
    public const int SimulatorTickSkipped = 4101;
    public const int ProcessStarted = 4110;
    public const int ChamberSimulatorStarted = 4120;
    public const int ChamberSimulatorFault = 4121;
    public const int ChamberSimulatorTickSkipped = 4122;

    // 4200-4299 the process optimizer.
    public const int OptimizerCycleFault = 4200;
    public const int OptimizerDecisionsNotKept = 4201;
    public const int OptimizerModeChanged = 4202;

    // 4300-4399 broker ingestion.
    public const int IngestionConsuming = 4300;
    public const int IngestionUnreachable = 4301;
    public const int IngestionDisconnected = 4302;
    public const int IngestionReconnected = 4303;
    public const int IngestionNotAcknowledged = 4304;
    public const int IngestionMqttConnected = 4310;
    public const int IngestionMqttUnreachable = 4311;
    public const int IngestionMqttDisconnected = 4312;
    public const int IngestionMqttNotAcknowledged = 4313;

    // 4400-4499 security.
    public const int SecurityOpen = 4400;
    public const int SecurityRoles = 4401;
}
