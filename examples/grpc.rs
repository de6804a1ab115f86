//! The same layer in front of a tonic (gRPC) service.
//!
//! ```text
//! cargo run --example grpc
//! ```
//!
//! Serves the standard gRPC health service behind `AuthLayer` on 127.0.0.1, then calls it three
//! times as a client and prints what the client sees. With `GrpcRejection`, a refused call is a
//! gRPC status (`UNAUTHENTICATED`, `PERMISSION_DENIED`, ...), not a bare HTTP 401 that gRPC
//! clients would report as a protocol error.

use scopegate::testing::TestIssuer;
use scopegate::{AuthLayer, GrpcRejection};
use tonic::metadata::MetadataValue;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::server::health_reporter;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let issuer = TestIssuer::start().await?;
    let validator = issuer.validator().build()?;

    let (reporter, health_service) = health_reporter();
    reporter
        .set_serving::<tonic_health::pb::health_server::HealthServer<tonic_health::server::HealthService>>()
        .await;

    let incoming = TcpIncoming::bind("127.0.0.1:0".parse()?)?;
    let address = incoming.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        Server::builder()
            .layer(AuthLayer::new(validator).on_rejection(GrpcRejection))
            .add_service(health_service)
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            }),
    );

    let channel = Channel::from_shared(format!("http://{address}"))?
        .connect()
        .await?;
    let valid = issuer.token().subject("grpc-client").sign();
    let expired = issuer.token().expires_in(-3600).sign();
    for (label, token) in [
        ("no token", None),
        ("expired token", Some(expired)),
        ("valid token", Some(valid)),
    ] {
        let mut request = tonic::Request::new(HealthCheckRequest {
            service: String::new(),
        });
        if let Some(token) = token {
            let value: MetadataValue<_> = format!("Bearer {token}").parse()?;
            request.metadata_mut().insert("authorization", value);
        }
        match HealthClient::new(channel.clone()).check(request).await {
            Ok(response) => println!("{label}: OK, status {:?}", response.into_inner().status()),
            Err(status) => println!("{label}: {:?} ({})", status.code(), status.message()),
        }
    }

    let _ = stop.send(());
    server.await??;
    Ok(())
}
