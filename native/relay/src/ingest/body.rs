//! Reading a request body with a hard cap: never more than `max_body_bytes` are buffered,
//! whatever Content-Length says (or whether it is there at all, with chunked encoding).

use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Body;

use super::rejection::Rejection;

/// Reads the whole body, or fails with 413 as soon as it passes `limit` bytes.
pub async fn read_capped<B>(body: B, limit: usize) -> Result<Bytes, Rejection>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => {
            Err(Rejection::BodyTooLarge {
                declared: None,
                limit,
            })
        }
        Err(err) => Err(Rejection::BodyRead(err)),
    }
}
