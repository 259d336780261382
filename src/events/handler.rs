//! `EventHandler`: the one shape of a listener, for services and configs.

/// Receives the events of a subscription: a closure, or the sending half of
/// a channel.
///
/// Implemented for closures `FnMut(&E)`, for [`crossbeam_channel::Sender`]
/// and for [`std::sync::mpsc::Sender`], so events of several watches can
/// meet in one `select!`. A channel whose receiver is gone just drops the
/// events (unsubscribe to stop them). Implement it for your own type to
/// keep state between events.
///
/// ```no_run
/// use nacos_blocking::{ConfigEvent, NacosClient, ServiceEvent};
/// let client = NacosClient::new("127.0.0.1:8848")?;
/// let (services, service_events) = crossbeam_channel::unbounded::<ServiceEvent>();
/// let (configs, config_events) = crossbeam_channel::unbounded::<ConfigEvent>();
/// let _orders = client.subscribe("orders", services)?;
/// let _settings = client.subscribe_config("app.yaml", configs)?;
/// loop {
///     crossbeam_channel::select! {
///         recv(service_events) -> ev => println!("{:?}", ev.map(|e| e.instances.len())),
///         recv(config_events) -> ev => println!("{:?}", ev.map(|e| e.content)),
///     }
/// }
/// # Ok::<(), nacos_blocking::Error>(())
/// ```
pub trait EventHandler<E>: Send + 'static {
    /// Handles one event. Runs on the client's delivery pool, one event at
    /// a time per handler, in order; a panic is caught and logged.
    fn handle_event(&mut self, event: E);
}

impl<E, F> EventHandler<E> for F
where
    F: FnMut(&E) + Send + 'static,
{
    fn handle_event(&mut self, event: E) {
        self(&event)
    }
}

impl<E: Send + 'static> EventHandler<E> for crossbeam_channel::Sender<E> {
    fn handle_event(&mut self, event: E) {
        let _ = self.send(event);
    }
}

impl<E: Send + 'static> EventHandler<E> for std::sync::mpsc::Sender<E> {
    fn handle_event(&mut self, event: E) {
        let _ = self.send(event);
    }
}
